"""Leaders' written instructions (批示) on a case or a supervision card, followed through."""
