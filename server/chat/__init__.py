"""Twitch chat: IRCv3 parsing (`irc`), a message and hype-event store (`buffer`), a live client
(`client`), recorded chat files (`logs`) and sentiment (`sentiment`); see docs/chat.md."""
