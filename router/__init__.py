"""The utterance router: what the user wants, and what the backend's GUI language means."""
