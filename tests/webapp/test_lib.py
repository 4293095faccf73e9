"""The Django-free helpers in webapp/lib."""

from unittest import TestCase

from webapp.lib.jsonschema import ValidationError, parse_utc, validate
from webapp.lib.sources import CHANNEL, URL, Source, SourceError, parse_login, parse_source
from webapp.streams.templatetags.streams_extras import hms

ALLOWED = ["127.0.0.1", "localhost", "127.0.0.1:8080"]


class ParseSourceTestCase(TestCase):
    def test_it_accepts_channels_and_allowed_urls(self):
        cases = [
            ("xQcOW", Source(CHANNEL, "xqcow")),
            ("  shroud  ", Source(CHANNEL, "shroud")),
            ("https://www.twitch.tv/Shroud", Source(CHANNEL, "shroud")),
            ("twitch.tv/shroud", Source(CHANNEL, "shroud")),
            ("www.twitch.tv/shroud/", Source(CHANNEL, "shroud")),
            ("https://m.twitch.tv/shroud?ref=x", Source(CHANNEL, "shroud")),
            ("http://127.0.0.1:8080/live.m3u8", Source(URL, "http://127.0.0.1:8080/live.m3u8")),
            ("HLS://LocalHost/a/B.m3u8", Source(URL, "hls://localhost/a/B.m3u8")),
        ]
        for text, expected in cases:
            with self.subTest(text=text):
                self.assertEqual(parse_source(text, ALLOWED), expected)

    def test_it_rejects_with_a_reason(self):
        cases = [
            ("", "Enter a Twitch channel name"),
            ("ab", "is neither"),
            ("x" * 501, "too long"),
            ("https://www.twitch.tv/videos/12345", "is not a Twitch channel name"),
            ("https://evil.com/live.m3u8", "Streams from evil.com are not allowed; allowed hosts: 127.0.0.1"),
            ("http://127.0.0.1@evil.com/", "user name or password"),
            ("http://127.0.0.1:80@evil.com/", "user name or password"),
            ("https://x@twitch.tv/shroud", "user name or password"),
            ("http://127.0.0.1\\@evil.com/", "backslashes"),
            ("http://127.0.0.1/a b", "spaces"),
            ("ftp://127.0.0.1/a", "Only http://, https:// and hls://"),
            ("http:///path", "no host"),
            ("http://127.0.0.1:99999/", "invalid port"),
            ("http://127.0.0.1.evil.com/", "not allowed"),
            ("http://127.0.0.1:5000/api/v1/jobs", "Streams from 127.0.0.1:5000 are not allowed"),
            ("hls://http://localhost:8080/live.m3u8", "Streams from localhost:8080 are not allowed"),
        ]
        for text, words in cases:
            with self.subTest(text=text):
                with self.assertRaises(SourceError) as ctx:
                    parse_source(text, ALLOWED)
                self.assertIn(words, str(ctx.exception))

    def test_parse_login_accepts_logins_and_channel_urls_only(self):
        self.assertEqual(parse_login("https://twitch.tv/XQC"), "xqc")
        with self.assertRaises(SourceError):
            parse_login("http://127.0.0.1/live.m3u8")


class JsonSchemaTestCase(TestCase):
    def test_null_is_allowed_only_when_listed(self):
        validate(None, {"type": ["string", "null"]})
        with self.assertRaisesRegex(ValidationError, "body: must be a string"):
            validate(None, {"type": "string"})

    def test_parse_utc_converts_to_utc(self):
        self.assertEqual(parse_utc("2026-11-30T09:00:00+02:00").isoformat(), "2026-11-30T07:00:00+00:00")
        self.assertIsNone(parse_utc("2026-11-30T07:00:00"))
        self.assertIsNone(parse_utc("2026-13-30T07:00:00Z"))


class HmsTestCase(TestCase):
    def test_it_formats_offsets(self):
        self.assertEqual([hms(0), hms(75.9), hms(3723.4), hms(None)], ["0:00:00", "0:01:15", "1:02:03", ""])
