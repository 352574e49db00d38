"""The Textual layer: the app and its screens. It joins the data layer to the widgets."""
