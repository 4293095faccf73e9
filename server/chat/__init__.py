"""Twitch chat: IRCv3 parsing (`irc`), a message store (`buffer`) and a live client (`client`)."""
