"""Write numbers the way people read them: Roman numerals, words, ordinals."""
