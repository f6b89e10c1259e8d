"""hotline: a contact-centre platform on a real Asterisk."""
