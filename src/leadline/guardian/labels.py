"""Reading a reply for what it means: a rule-based, deterministic labeller (English, Spanish,
French and German).

:func:`label` gives one of :data:`LABELS` with the reason (the phrase that decided it) and, where
the reply names them, a date (an out-of-office's return, a "not now"'s "try me in March") and a
person and address (a referral). The rules are phrase lists matched on a folded copy of the text
(lower case, accents removed, white space made single spaces), in a fixed order of precedence:

    bounce_like > out_of_office > auto_reply > unsubscribe_request > referral > not_now
    > not_interested > meeting_request > interested > other

Bounded on any input: at most :data:`MAX_CHARS` characters of the reply (and 300 of the subject)
are read, quoted lines (``>``) are dropped, and every pattern is an alternation of literal
phrases or a date shape with bounded repeats, run by ``re`` (no nested quantifiers: linear).
A local model may later sit behind the same function.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

LABELS = ("interested", "meeting_request", "not_interested", "not_now", "unsubscribe_request", "referral",
          "out_of_office", "auto_reply", "bounce_like", "other")  # fmt: skip
LABEL_NAMES = {
    "interested": "Interested", "meeting_request": "Meeting request", "not_interested": "Not interested",
    "not_now": "Not now", "unsubscribe_request": "Unsubscribe request", "referral": "Referral",
    "out_of_office": "Out of office", "auto_reply": "Auto-reply", "bounce_like": "Bounce-like", "other": "Other",
}  # fmt: skip
MAX_CHARS = 5_000
SUBJECT_CHARS = 300

PHRASES: dict[str, tuple[str, ...]] = {
    "bounce_like": (
        "delivery status notification", "undeliverable", "mail delivery failed", "delivery has failed",
        "could not be delivered", "address not found", "user unknown", "mailbox unavailable", "mailbox not found",
        "recipient address rejected", "no such user", "550 5.1.1", "message not delivered", "returned mail",
        "delivery failure", "mailbox is full", "does not exist", "no longer with the company",
        "no longer works here", "no longer with us", "this address is no longer",
        "no se pudo entregar", "no pudo ser entregado", "error de entrega", "ya no trabaja",
        "non remis", "echec de la remise", "echec de la livraison", "n'a pas pu etre remis",
        "adresse introuvable", "adresse inconnue", "n'a pas pu etre distribue", "mensaje devuelto", "no existe",
        "recipient's mailbox", "message blocked", "ist ungultig", "adresse ist ungultig", "ne fait plus partie",
        "n'est plus en poste",
        "unzustellbar", "nicht zugestellt", "zustellung fehlgeschlagen", "konnte nicht zugestellt",
        "nicht mehr im unternehmen", "nicht mehr bei uns", "ist nicht mehr erreichbar",
    ),
    "out_of_office": (
        "out of office", "out of the office", "ooo", "on vacation", "on holiday", "on annual leave",
        "on leave", "away from the office", "away from my desk until", "limited access to email",
        "limited access to my email", "currently away", "i am away", "i'm away", "i will be away",
        "i'll be back", "i will be back", "back in the office", "returning on", "i return on", "will return on",
        "parental leave", "for the holidays", "i'm out until", "i am out until", "out until", "when i'm back",
        "maternity leave", "paternity leave", "sick leave",
        "fuera de la oficina", "de vacaciones", "ausente hasta", "estoy ausente", "estare de vuelta",
        "estare fuera", "estare de vacaciones", "sin acceso al correo", "regreso el", "volvere el",
        "acceso limitado al correo", "de baja por",
        "absent du bureau", "absente du bureau", "en conge", "en vacances", "en conges", "en conge jusqu",
        "je suis absent", "je suis absente",
        "je serai de retour", "de retour le", "absent du", "absente du", "absent jusqu",
        "absente jusqu", "acces limite", "hors du bureau",
        "abwesend", "ausser haus", "außer haus", "nicht im buro", "im urlaub", "urlaub", "urlaubsbedingt",
        "wieder im buro",
        "wieder erreichbar", "zuruck am", "eingeschrankt erreichbar",
    ),
    "auto_reply": (
        "this is an automated", "this is an automatic", "automatic reply", "automated reply", "auto-reply",
        "autoreply", "auto reply", "do not reply to this", "do-not-reply", "noreply", "we have received your",
        "we've received your", "thank you for contacting", "thanks for contacting", "thanks for reaching out to",
        "your ticket", "ticket number", "ticket #", "a member of our team will", "someone from our team will",
        "will get back to you within", "respond within", "office hours are", "during business hours",
        "we got your message", "automatically generated", "business hours",
        "respuesta automatica", "mensaje automatico", "hemos recibido su", "hemos recibido tu",
        "gracias por contactar", "buzon es automatico", "contestaremos en breve", "le contestaremos",
        "nos pondremos en contacto", "le responderemos",
        "reponse automatique", "message automatique", "nous avons bien recu", "merci de nous avoir contactes",
        "merci pour votre message, nous", "nous vous repondrons", "demande a ete enregistree", "reponse automatique",
        "ne pas repondre",
        "automatische antwort", "automatische nachricht", "automatisch generierte", "automatisch erstellte",
        "so schnell wie moglich", "wir haben ihre nachricht erhalten",
        "vielen dank fur ihre nachricht. wir", "wir melden uns", "bitte antworten sie nicht",
    ),
    "unsubscribe_request": (
        "unsubscribe", "remove me", "remove my email", "remove us", "take me off", "take us off", "stop emailing",
        "stop sending", "stop contacting", "don't email", "do not email", "dont email", "don't contact",
        "do not contact", "never contact", "opt out", "opt-out", "no more emails", "off your list",
        "off your mailing list", "from your list", "stop spamming", "stop sending me", "stop sending these",
        "don't send me", "do not send me", "this is spam", "don't write", "do not write",
        "darme de baja", "dame de baja", "denme de baja", "de baja de", "no me escriba", "no me escribas",
        "no me contacte", "no me contactes", "eliminame", "eliminen mi", "elimine mi", "quitame de", "quiteme de",
        "no quiero recibir", "no quiero recibir mas", "no me envie", "no me envien", "dejen de enviar",
        "deje de enviar", "deja de enviar", "borren mi",
        "desabonner", "desinscri", "desinscrire", "retirez-moi", "retirez moi", "retirez mon", "ne plus recevoir",
        "arretez de m'ecrire", "arretez de m'envoyer", "cessez de", "supprimez mon", "supprimez-moi",
        "ne me contactez plus", "ne plus me contacter", "ne plus m'envoyer", "ne m'envoyez plus", "me retirer de",
        "retirer de votre liste",
        "abmelden", "austragen", "keine weiteren e-mails", "keine weiteren emails", "keine e-mails mehr",
        "keine mails mehr", "nicht mehr kontaktieren", "nicht mehr anschreiben", "entfernen sie mich",
        "entfernen sie meine", "loschen sie meine", "streichen sie mich", "kontaktieren sie mich nicht",
        "schreiben sie mir nicht", "unterlassen sie", "keine werbung", "nicht mehr schicken", "nichts mehr schicken",
        "schicken sie mir keine",
    ),
    "referral": (
        "talk to", "speak to", "speak with", "reach out to", "get in touch with", "contact my", "contact our",
        "you should contact", "please contact", "the right person", "the person you want", "the person to talk",
        "handles that", "handles our", "handles all", "in charge of", "does all of that", "does all that",
        "handles all of that", "business partner", "my partner", "is responsible for", "looping in", "loop in",
        "cc'ing", "cc'd", "copying", "forwarded your email to", "forwarding this to", "i've forwarded",
        "hable con", "hablar con", "contacte a", "contacta a", "contacte con", "contactar a", "escribale a",
        "escribele a", "la persona indicada", "la persona adecuada", "se encarga de", "lleva el tema", "eso lo lleva",
        "lo lleva mi", "la lleva mi",
        "encargado de", "encargada de", "le paso su correo", "le reenvie", "te reenvie", "en copia",
        "contactez", "adressez-vous", "voyez avec", "voir avec mon", "il faut voir avec", "voir avec",
        "la bonne personne", "s'occupe de",
        "s'occupe des", "responsable de", "je transmets", "j'ai transmis", "en copie",
        "wenden sie sich an", "wenden sie sich bitte an", "melden sie sich bei",
        "ansprechpartner", "ansprechpartnerin", "kontaktieren sie", "sprechen sie mit", "mit meinem sohn sprechen",
        "mit meiner frau sprechen", "mussen sie mit",
        "zustandig ist", "zustandig fur", "kummert sich", "habe ihre mail an", "leite ihre", "in kopie",
    ),
    "not_now": (
        "not right now", "not now", "not at this time", "not at the moment", "not this year", "maybe later",
        "maybe next", "perhaps later", "down the road", "reach out in", "reach out again", "check back",
        "check in with me", "try me in", "try again in", "get back to me in", "follow up in", "circle back",
        "next quarter", "next year", "next month", "next spring", "next summer", "next fall", "after the summer",
        "after the holidays", "after the new year", "in a few months", "in a couple of months", "busy season",
        "busy stretch", "ping me again", "ask me again", "try me again",
        "too busy right now", "timing isn't right", "timing is not right", "bad timing", "revisit",
        "ahora no", "por ahora no", "de momento no", "mas adelante", "el proximo ano", "el ano que viene",
        "el proximo mes", "en unos meses", "dentro de unos meses", "vuelva a contactar", "vuelve a contactar",
        "escribame en", "escribeme en septiembre", "a tope de trabajo", "escribeme en", "despues del verano",
        "no es buen momento", "no es el momento",
        "pas pour le moment", "pas maintenant", "pas pour l'instant", "plus tard", "l'annee prochaine",
        "l'an prochain", "le mois prochain", "dans quelques mois", "recontactez", "on en reparle",
        "pas pour l'instant", "revenez vers moi",
        "apres l'ete", "a la rentree", "pas le bon moment", "en ce moment, non",
        "nicht jetzt", "derzeit nicht", "momentan nicht", "aktuell nicht", "im moment nicht", "spater",
        "nachstes jahr", "nachsten jahr", "nachsten monat", "in ein paar monaten", "in einigen monaten",
        "melden sie sich im", "melden sie sich in", "melden sie sich nach", "nach dem sommer", "im augenblick nicht",
        "im fruhjahr", "noch einmal im", "fragen sie im", "kein guter zeitpunkt",
    ),
    "not_interested": (
        "not interested", "no interest", "no thanks", "no thank you", "not for us", "not a fit", "isn't a fit",
        "is not a fit", "not the right fit",
        "not a good fit", "we're all set", "we are all set", "we're good", "we are good", "all set",
        "we already have", "we already use", "already work with", "already working with", "we'll pass",
        "i'll pass", "pass on this", "don't need", "do not need", "no need", "not looking",
        "we're not looking", "please don't follow up", "not something we need", "happy with our current",
        "no estoy interesado", "no estoy interesada", "no estamos interesados", "no me interesa", "no nos interesa",
        "no gracias", "ya tenemos", "ya trabajamos con", "no necesitamos", "no lo necesitamos", "no nos hace falta",
        "no hace falta", "no es para nosotros",
        "pas interesse", "pas interessee", "pas interesses", "ne sommes pas interesses",
        "nous ne sommes pas interesses", "ne m'interesse pas", "ne nous interesse pas",
        "non merci", "nous avons deja", "on a deja", "nous travaillons deja", "pas besoin", "pas pour nous",
        "kein interesse", "nicht interessiert", "nein danke", "haben bereits", "haben schon", "brauchen wir nicht",
        "das brauchen wir nicht",
        "benotigen wir nicht", "arbeiten bereits mit", "nichts fur uns", "nicht fur uns",
    ),
    "meeting_request": (
        "call me", "give me a call", "let's talk", "lets talk", "let's chat", "set up a call", "schedule a call",
        "hop on a call", "jump on a call", "book a time", "book a call", "a quick call", "a call on", "a call at",
        "a call this", "a call next", "are you free", "are you available", "when are you free",
        "what times work", "what time works", "can we meet", "let's meet",
        "to meet", "meet at", "meet in person", "meet on", "meeting", "calendly",
        "calendar link", "send me a time", "send over a time", "send me some times", "15 minutes", "15 min",
        "20 minutes", "30 minutes", "call tomorrow", "ring me", "give me a ring", "got a minute", "have a minute",
        "talk tomorrow", "call on monday", "free on",
        "llamame", "llameme", "llamenme", "agendar", "una llamada", "una reunion", "reunirnos", "podemos hablar",
        "hablamos el", "hablemos por telefono", "por telefono", "hablemos", "esta disponible", "estas disponible",
        "tiene un momento", "cuando le viene bien",
        "appelez-moi", "appelle-moi", "appelez moi", "un appel", "rendez-vous", "rdv", "on peut s'appeler",
        "s'appeler", "se rencontrer", "une reunion", "un creneau", "m'appeler", "me telephoner", "disponible mardi",
        "disponible lundi",
        "etes-vous disponible", "quand etes-vous",
        "rufen sie mich an", "rufen sie mich",
        "ruf mich an", "rufen sie an", "termin", "telefonat", "telefonieren", "anrufen",
        "treffen", "gesprach", "kurz sprechen", "haben sie zeit", "passt es ihnen", "mich anrufen", "mich morgen",
        "rufen sie mich morgen",
    ),
    "interested": (
        "interested", "sounds good", "sounds interesting", "sounds great", "tell me more", "more info",
        "more information", "more details", "send me", "send over", "how much", "pricing", "what does it cost",
        "what's the cost", "let's do it", "sign me up", "i'm in", "count me in", "curious", "yes please",
        "love to learn", "like to learn", "like to know more", "open to it", "been thinking about", "been meaning to",
        "what would the first", "what would it cost", "look like", "open to hearing",
        "me interesa", "nos interesa", "interesado", "interesada", "cuentame mas", "cuenteme mas",
        "mas informacion", "cuanto cuesta", "cual es el precio", "suena bien", "me gustaria saber", "enviame",
        "envieme", "adelante", "que precio", "nos podria venir bien", "podria venir bien",
        "ca m'interesse", "cela m'interesse", "interesse", "interessee", "plus d'informations", "plus d'infos",
        "combien", "quel est le prix", "envoyez-moi", "pourquoi pas", "volontiers", "ca me parle", "grille tarifaire",
        "tarif", "tarifs", "pourrait nous aider",
        "interessiert", "interessant", "klingt gut", "mehr informationen", "mehr infos", "was kostet",
        "preis", "schicken sie mir", "senden sie mir", "gerne mehr", "gern mehr", "hort sich gut an", "kosten",
        "was wurde das",
    ),
}  # fmt: skip

_EMAIL = re.compile(r"[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){1,8}", re.IGNORECASE)
# A name right after a referral phrase: perhaps "to"/"with"/"à"..., perhaps who they are ("my partner",
# "our office manager,", "meinem Kollegen", "notre responsable :"), then one to three capitalised words
# (letters, apostrophes, hyphens; "van", "de la"... between them), after an optional title.
_NAME = re.compile(r"\s*(?:(?:to|with|a|à|an|at|is|est|es|ist|mit|avec|con)\s+)?"
                   r"(?:(?:(?:my|our|his|her|mi|mis|su|nuestro|nuestra|mon|ma|notre|nos)\s+(?:[a-zà-öø-ÿ]{2,20}\s+)?"
                   r"(?:[a-zà-öø-ÿ]{2,20}|[A-Z]{2,4})|(?:meine[mnrs]?|unsere[mnrs]?|unser|ihre[mnrs]?)\s+"
                   r"(?:[a-zäöüß]{2,20}\s+)?[A-ZÄÖÜ][a-zäöüß]{2,25})\s?[,:]?\s+)?"
                   r"((?:Mr\.?\s|Mrs\.?\s|Ms\.?\s|Dr\.?\s|Herrn?\s|Frau\s|M\.\s|Mme\s|Sr\.?\s|Sra\.?\s)?"
                   r"[A-ZÀ-ÖØ-Þ][\w'’-]{0,30}(?:\s(?:(?:van|von|de|del|della|der|den|da|di|du|la|le|ter)\s){0,2}"
                   r"[A-ZÀ-ÖØ-Þ][\w'’-]{0,30}){0,2})")  # fmt: skip


@dataclass(frozen=True)
class Label:
    label: str
    reason: str
    named_date: date | None = None
    named_person: str | None = None
    named_email: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "reason": self.reason,
                "namedDate": self.named_date.isoformat() if self.named_date else None,
                "namedPerson": self.named_person, "namedEmail": self.named_email}  # fmt: skip


@cache
def _patterns() -> dict[str, re.Pattern[str]]:
    compiled = {}
    for name, phrases in PHRASES.items():
        words = sorted({fold(p) for p in phrases}, key=len, reverse=True)
        compiled[name] = re.compile(r"(?<![a-z0-9])(?:" + "|".join(re.escape(w) for w in words) + r")(?![a-z0-9])")
    return compiled


_FOLDED: dict[str, str] = {}
_APOSTROPHES = frozenset("’‘`´")


def fold(text: str) -> str:
    """Lower case without accents, one character for one (so positions map back to ``text``)."""
    out = []
    for char in text:
        folded = _FOLDED.get(char)
        if folded is None:
            folded = "'" if char in _APOSTROPHES else (unicodedata.normalize("NFKD", char)[:1].lower()[:1] or char)
            if len(_FOLDED) < 10_000:  # bounded: a hostile text of many scripts does not grow it without end
                _FOLDED[char] = folded
        out.append(folded)
    return "".join(out)


def _clean(text: str) -> str:
    """The reply's own lines (no quoted ``>`` lines), white space single, at most MAX_CHARS."""
    kept = []
    size = 0
    for line in text[: MAX_CHARS * 2].splitlines():
        stripped = line.strip()
        if stripped.startswith(">"):
            continue
        kept.append(" ".join(stripped.split()))
        size += len(kept[-1]) + 1
        if size >= MAX_CHARS:
            break
    return "\n".join(kept)[:MAX_CHARS]


def label(text: str | None, *, subject: str | None = None, today: date, auto: bool = False,
          sender: str | None = None) -> Label:  # fmt: skip
    """The label of a reply. ``auto``: its headers say it was sent automatically; ``sender``: the
    address it came from (a referral names someone else)."""
    body = _clean(text or "")
    head = " ".join((subject or "")[:SUBJECT_CHARS].split())
    if fold(head).startswith(("re:", "aw:", "rv:", "tr:", "wg:", "fwd:", "fw:")):
        head = ""  # our own subject, quoted back: says nothing about the reply
    folded = fold(body)
    both = fold(head) + "\n" + folded
    found = {name: pattern.search(both if name in ("bounce_like", "out_of_office", "auto_reply") else folded)
             for name, pattern in _patterns().items()}  # fmt: skip

    def said(name: str) -> str:
        match = found[name]
        assert match is not None
        return match.group(0)

    if found["bounce_like"]:
        return Label("bounce_like", f'says "{said("bounce_like")}": the message did not reach a person')
    if found["out_of_office"]:
        back = find_date(folded, today)
        when = f", back {back.isoformat()}" if back else ", no return date given"
        return Label("out_of_office", f'says "{said("out_of_office")}"{when}', named_date=back)
    if auto or found["auto_reply"]:
        why = f'says "{said("auto_reply")}"' if found["auto_reply"] else "its headers say it was sent automatically"
        return Label("auto_reply", why)
    if found["unsubscribe_request"]:
        return Label("unsubscribe_request", f'asks not to be emailed ("{said("unsubscribe_request")}")')
    if found["referral"]:
        person, address = _referral(body, folded, found["referral"], sender)
        if person or address:
            who = " ".join(x for x in (person, f"<{address}>" if address else None) if x)
            return Label("referral", f'points to someone else ("{said("referral")}"): {who}', named_person=person,
                         named_email=address)  # fmt: skip
    if found["not_now"]:
        again = find_date(folded, today, future_only=True)
        return Label("not_now", f'says "{said("not_now")}"' + (f", try again {again.isoformat()}" if again else ""),
                     named_date=again)  # fmt: skip
    if found["not_interested"]:
        return Label("not_interested", f'says "{said("not_interested")}"')
    if found["meeting_request"]:
        return Label("meeting_request", f'asks to talk ("{said("meeting_request")}")')
    if found["interested"]:
        return Label("interested", f'says "{said("interested")}"')
    return Label("other", "no rule matched; a person should read it")


def _referral(body: str, folded: str, match: re.Match[str], sender: str | None) -> tuple[str | None, str | None]:
    """The person a referral names (their whole name, as written) and their address."""
    own = (sender or "").lower()
    address = next((m.group(0).rstrip(".") for m in _EMAIL.finditer(body) if m.group(0).lower() != own), None)
    local = address.split("@", 1)[0] if address else ""
    local_parts = re.split(r"[._-]", local) if re.fullmatch(r"[a-z]{2,20}(?:[._-][a-z]{2,20})?", local, re.I) else []
    person = None
    name = _NAME.match(body, match.end(), min(len(body), match.end() + 120))
    if name:
        words = name.group(1).split()
        while words and fold(words[-1]) in _NOT_NAMES:  # "Talk to Jane Monday": Monday is no name
            words.pop()
        person = " ".join(words) or None
        if person and (fold(person) in _NOT_NAMES or fold(words[0]) in _NOT_NAMES):
            person = None
    if person is None and local_parts and local.lower() not in _ROLE:
        person = " ".join(part.capitalize() for part in local_parts)
    if person and len(person.split()) == 1:  # a first name alone: the surname is often written beside it
        later = re.search(r"(?<![\w'’-])" + re.escape(person) + r" ([A-ZÀ-ÖØ-Þ][\w'’-]{1,30})(?![\w'’-])", body)
        if later and fold(later.group(1)) not in _NOT_NAMES:
            person = f"{person} {later.group(1)}"  # "... our office manager, Sandra Kim. sandra@..."
        elif len(local_parts) == 2 and fold(person) == local_parts[0].lower():
            person = f"{person} {local_parts[1].capitalize()}"  # "Talk to Tom: tom.baker@..." names Tom Baker
    return person, address


_NOT_NAMES = frozenset({"i", "we", "the", "our", "my", "he", "she", "they", "him", "her", "them", "please", "thanks",
                        "el", "la", "los", "le", "les", "der", "die", "das", "ihn", "sie", "er", "il", "elle", "no",
                        "not", "you", "hi", "hello", "hola", "bonjour", "hallo", "monday", "tuesday", "wednesday",
                        "thursday", "friday", "saturday", "sunday", "today", "tomorrow", "cheers"})  # fmt: skip
_ROLE = frozenset({"info", "office", "sales", "admin", "contact", "hello", "support", "team", "marketing", "billing",
                   "ventas", "contacto", "kontakt", "bureau", "accueil", "buero", "jobs", "help"})  # fmt: skip

# --- dates --------------------------------------------------------------------------------------------------

MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4, "may": 5,
    "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9, "sept": 9, "sep": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
    "enero": 1, "febrero": 2, "marzo": 3, "abril": 4, "mayo": 5, "junio": 6, "julio": 7, "agosto": 8,
    "septiembre": 9, "setiembre": 9, "octubre": 10, "noviembre": 11, "diciembre": 12,
    "janvier": 1, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6, "juillet": 7, "aout": 8,
    "septembre": 9, "octobre": 10, "novembre": 11, "decembre": 12,
    "januar": 1, "februar": 2, "marz": 3, "juni": 6, "juli": 7, "oktober": 10, "dezember": 12,
}  # fmt: skip
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5, "sunday": 6,
    "lunes": 0, "martes": 1, "miercoles": 2, "jueves": 3, "viernes": 4, "sabado": 5, "domingo": 6,
    "lundi": 0, "mardi": 1, "mercredi": 2, "jeudi": 3, "vendredi": 4, "samedi": 5, "dimanche": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5, "sonntag": 6,
}  # fmt: skip
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_DATE_PATTERNS = (
    ("iso", re.compile(r"(?<!\d)(\d{4})-(\d{1,2})-(\d{1,2})(?!\d)")),
    ("mdy_name", re.compile(rf"(?<![a-z])({_MONTH})\.?\s(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s(\d{{4}}))?(?!\d)")),
    ("dmy_name", re.compile(rf"(?<!\d)(\d{{1,2}})(?:st|nd|rd|th|er|\.)?\s(?:de\s|of\s)?({_MONTH})(?![a-z])"
                            rf"(?:\.?,?\s(?:de\s)?(\d{{4}}))?")),
    ("numeric", re.compile(r"(?<![\d/.])(\d{1,2})([/.])(\d{1,2})(?:[/.](\d{2,4}))?(?![\d/])")),
    ("weekday", re.compile(r"(?<![a-z])(" + "|".join(WEEKDAYS) + r")(?![a-z])")),
    ("month_only", re.compile(rf"(?<![a-z])(?:in|en|im|au|a|until|hasta|jusqu'en|bis)\s(?:mois\sde\s)?"
                              rf"({_MONTH})(?![a-z])")),
    ("relative", re.compile(r"(?<![a-z])(next week|next month|next year|la semaine prochaine|le mois prochain|"
                            r"l'annee prochaine|la semana que viene|la proxima semana|el proximo mes|el proximo ano|"
                            r"el ano que viene|nachste woche|nachsten monat|nachstes jahr|nachsten jahr|"
                            r"in (?:two|2|three|3|four|4|six|6) (?:weeks|months))(?![a-z])")),
)  # fmt: skip
_NUMBERS = {"two": 2, "three": 3, "four": 4, "six": 6}
_US_HINTS = re.compile(r"(?<![a-z])(the|and|you|will|back|office|thanks|please)(?![a-z])")


def find_date(folded: str, today: date, *, future_only: bool = False) -> date | None:
    """The first date ``folded`` names (a return date, "try me in March"), on or after ``today``."""
    us = bool(_US_HINTS.search(folded))
    best: tuple[int, date] | None = None
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            found = _as_date(kind, match, today, us)
            if found is not None and (not future_only or found >= today):
                if best is None or match.start(1) < best[0]:  # the earliest; on a tie, the more precise shape
                    best = (match.start(1), found)
                break
    return best[1] if best else None


def _as_date(kind: str, m: re.Match[str], today: date, us: bool) -> date | None:
    try:
        if kind == "iso":
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if kind == "mdy_name":
            return _upcoming(today, MONTHS[m.group(1)], int(m.group(2)), m.group(3))
        if kind == "dmy_name":
            return _upcoming(today, MONTHS[m.group(2)], int(m.group(1)), m.group(3))
        if kind == "numeric":
            a, b = int(m.group(1)), int(m.group(3))
            month, day = (a, b) if us and m.group(2) == "/" else (b, a)
            if month > 12 and day <= 12:
                month, day = day, month
            return _upcoming(today, month, day, m.group(4))
        if kind == "weekday":
            ahead = (WEEKDAYS[m.group(1)] - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
        if kind == "month_only":
            month = MONTHS[m.group(1)]
            year = today.year if month > today.month else today.year + 1
            return date(year, month, 1)
        if kind == "relative":
            return _relative(m.group(1), today)
    except (ValueError, OverflowError):
        return None
    return None


def _upcoming(today: date, month: int, day: int, year: str | None) -> date:
    if year:
        value = int(year)
        return date(value + 2000 if value < 100 else value, month, day)
    candidate = date(today.year, month, day)
    return candidate if candidate >= today - timedelta(days=7) else date(today.year + 1, month, day)


def _relative(text: str, today: date) -> date | None:
    if "week" in text or "semaine" in text or "semana" in text or "woche" in text:
        if text.startswith("in "):
            count = _NUMBERS.get(text.split()[1]) or int(text.split()[1])
            return today + timedelta(weeks=count)
        return today + timedelta(days=7 - today.weekday())  # next Monday
    if "month" in text or "mois" in text or "mes" in text or "monat" in text:
        if text.startswith("in "):
            count = _NUMBERS.get(text.split()[1]) or int(text.split()[1])
            month = today.month - 1 + count
            return date(today.year + month // 12, month % 12 + 1, 1)
        return date(today.year + (today.month == 12), today.month % 12 + 1, 1)
    return date(today.year + 1, 1, 1)
