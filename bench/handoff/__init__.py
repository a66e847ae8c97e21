"""How fast a session append on one machine is on the other, and how soon the writer knows."""
