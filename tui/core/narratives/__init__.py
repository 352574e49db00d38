"""The narratives: the shipped and the user's article files, their claims, the rule language, names and drafts."""
