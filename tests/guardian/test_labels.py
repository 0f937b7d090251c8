"""The labeller alone: the hand-labelled corpus, the dates and people it names, hostile input."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from leadline.guardian.labels import LABELS, label

CORPUS = Path(__file__).resolve().parents[1] / "data" / "reply_labels.jsonl"
TODAY = date(2026, 12, 5)  # a Saturday


def corpus() -> list[dict[str, str]]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_the_corpus_covers_every_label_in_four_languages():
    items = corpus()
    assert len(items) >= 200
    seen = Counter((i["lang"], i["label"]) for i in items)
    assert all(seen[(lang, name)] >= 4 for lang in ("en", "es", "fr", "de") for name in LABELS)


def test_accuracy_against_the_hand_labels():
    items = corpus()
    right = sum(label(i["text"], today=TODAY).label == i["label"] for i in items)
    assert right / len(items) >= 0.95


@pytest.mark.parametrize(
    ("text", "back"),
    [("I'm out of the office until December 14 with limited access to email.", date(2026, 12, 14)),
     ("Estoy fuera de la oficina hasta el 8 de enero.", date(2027, 1, 8)),
     ("Je suis en congé et serai de retour le 12/01/2027.", date(2027, 1, 12)),
     ("Ich bin bis zum 12.01.2027 im Urlaub.", date(2027, 1, 12)),
     ("On vacation, back Monday.", date(2026, 12, 7)),
     ("Out of office, returning on 2026-12-28.", date(2026, 12, 28)),
     ("Out of office.", None)],
)  # fmt: skip
def test_out_of_office_return_dates(text, back):
    got = label(text, today=TODAY)
    assert (got.label, got.named_date) == ("out_of_office", back)


def test_not_now_names_when_to_try_again():
    got = label("Not right now, reach out in March.", today=TODAY)
    assert (got.label, got.named_date) == ("not_now", date(2027, 3, 1))


@pytest.mark.parametrize(
    ("text", "person", "address"),
    [("I don't handle marketing. Talk to Maria Lopez, maria@royalplumbingco.com.", "Maria Lopez",
      "maria@royalplumbingco.com"),
     ("Wenden Sie sich bitte an Herrn Becker (k.becker@firma.de).", "Herrn Becker", "k.becker@firma.de"),
     ("Escríbale a pablo@fontaneriapablo.es, él decide.", "Pablo", "pablo@fontaneriapablo.es")],
)  # fmt: skip
def test_a_referral_names_the_person_and_address(text, person, address):
    got = label(text, today=TODAY, sender="owner@royalplumbingco.com")
    assert (got.label, got.named_person, got.named_email) == ("referral", person, address)


@pytest.mark.parametrize(
    ("text", "person", "address"),
    [("Please contact my partner John Smith at john@reyeselectric.com", "John Smith", "john@reyeselectric.com"),
     ("Please contact my partner, John Smith, at john@reyeselectric.com.", "John Smith", "john@reyeselectric.com"),
     ("please contact my business partner John Smith at john@reyeselectric.com", "John Smith",
      "john@reyeselectric.com"),
     ("reach out to Jane Doe (jane@x.com)", "Jane Doe", "jane@x.com"),
     ("Please reach out to Jane (jane@janesplumbing.com).", "Jane", "jane@janesplumbing.com"),
     ("Talk to Sean O'Neil at sean@oneilhvac.com", "Sean O'Neil", "sean@oneilhvac.com"),
     ("Talk to Anne-Marie Dubois: am@dubois.fr", "Anne-Marie Dubois", "am@dubois.fr"),
     ("Please contact our office manager Mary-Kate O’Brien at mk@obrienroofing.com", "Mary-Kate O’Brien",
      "mk@obrienroofing.com"),
     ("I've forwarded your email to our office manager, Sandra Kim. sandra@kimhvac.com", "Sandra Kim",
      "sandra@kimhvac.com"),
     ("Talk to Maria de la Cruz, maria@cruzroofing.com", "Maria de la Cruz", "maria@cruzroofing.com"),
     ("Talk to Tom Monday, he is in: tom.baker@bakerroofing.com", "Tom Baker", "tom.baker@bakerroofing.com"),
     ("Adressez-vous à Marc Petit, marc@petitchauffage.fr, c'est lui qui décide.", "Marc Petit",
      "marc@petitchauffage.fr"),
     ("Voyez avec notre responsable, Pierre Durand : pierre@durand-toiture.fr", "Pierre Durand",
      "pierre@durand-toiture.fr"),
     ("Sprechen Sie mit meinem Kollegen Lukas Becker, lukas@becker-elektro.de.", "Lukas Becker",
      "lukas@becker-elektro.de"),
     ("Talk to john smith, john.smith@gmail.com", "John Smith", "john.smith@gmail.com")],
)  # fmt: skip
def test_a_referral_keeps_the_whole_name(text, person, address):
    """The surname too, whatever stands between the phrase and the name ("my partner,", "our office
    manager", "meinem Kollegen"); a single name stays single; apostrophes, hyphens and "de la" kept."""
    got = label(text, today=TODAY, sender="dan@reyeselectric.com")
    assert (got.label, got.named_person, got.named_email) == ("referral", person, address)


def test_headers_saying_automatic_make_an_auto_reply():
    assert label("Thanks, we'll look into it.", today=TODAY, auto=True).label == "auto_reply"
    assert label("Out of office until Monday", today=TODAY, auto=True).label == "out_of_office"


def test_deterministic():
    text = "Interested! Can we set up a call Tuesday?"
    assert len({label(text, today=TODAY) for _ in range(20)}) == 1


@pytest.mark.parametrize(
    "hostile",
    ["out of o" * 400_000, "a" * 5_000_000, "> quoted\n" * 300_000, "12/" * 1_000_000, "talk to " * 500_000,
     "Ä" * 2_000_000 + " unsubscribe", "\n" * 3_000_000],
)  # fmt: skip
def test_hostile_input_is_bounded(hostile):
    started = time.thread_time()  # CPU time: a wall clock also counts the other tests sharing the cores
    got = label(hostile, subject="x" * 1_000_000, today=TODAY)
    assert time.thread_time() - started < 0.5
    assert got.label in LABELS
