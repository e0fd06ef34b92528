"""User-facing notification texts, in Norwegian bokmål. They never carry plan content."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def login_code_email(code: str) -> Text:
    return Text(
        "Engangskode for innlogging i plangruppe",
        f"Hei!\n\nEngangskoden din er {code}.\n\n"
        "Koden gjelder i fem minutter og kan bare brukes én gang. "
        "Har du ikke prøvd å logge inn, kan du se bort fra denne e-posten, "
        "men vi anbefaler at du bytter passord.\n\nHilsen plangruppe",
    )


def login_code_sms(code: str) -> Text:
    return Text("", f"Engangskode for plangruppe: {code}. Koden gjelder i fem minutter.")


def channel_code_email(code: str) -> Text:
    return Text(
        "Kode for å bytte innloggingskanal i plangruppe",
        f"Hei!\n\nKoden for å få engangskoder hit heretter er {code}.\n\n"
        "Koden gjelder i ti minutter og kan bare brukes én gang. Har du ikke bedt om dette, "
        "kan du se bort fra e-posten.\n\nHilsen plangruppe",
    )


def channel_code_sms(code: str) -> Text:
    return Text(
        "", f"Kode for å få engangskoder fra plangruppe på SMS: {code}. Gjelder i ti minutter."
    )


def password_reset(link: str) -> Text:
    return Text(
        "Tilbakestill passordet ditt i plangruppe",
        "Hei!\n\nNoen (forhåpentligvis du) har bedt om å få tilbakestille passordet ditt. "
        "Lenken gjelder i 30 minutter og kan brukes én gang:\n\n"
        f"{link}\n\nHar du ikke bedt om dette, kan du se bort fra e-posten.\n\nHilsen plangruppe",
    )


def password_login_blocked(link: str, failures: int) -> Text:
    """After the ceiling of failed logins in a row: the password alone no longer opens a login."""
    return Text(
        "Innlogging med passord er sperret i plangruppe",
        f"Hei!\n\nDet er gjort {failures} mislykkede innloggingsforsøk på rad på brukeren din "
        "i plangruppe. For å beskytte brukeren kan passordet ditt ikke lenger brukes til å "
        "logge inn før du har valgt et nytt. Lenken under gjelder i 30 minutter og kan brukes "
        f"én gang:\n\n{link}\n\nHar lenken gått ut, kan du be om en ny med «Glemt passord» på "
        "innloggingssiden. Var det ikke du som prøvde å logge inn, kan noen ha forsøkt å gjette "
        "passordet ditt. Velg et nytt passord som du ikke bruker andre steder.\n\n"
        "Hilsen plangruppe",
    )


def invitation(link: str, username: str) -> Text:
    return Text(
        "Du er invitert til plangruppe",
        f"Hei!\n\nDet er opprettet en bruker til deg i plangruppe med brukernavnet {username}. "
        "Velg passord med lenken under. Lenken gjelder i sju dager og kan brukes én gang:\n\n"
        f"{link}\n\nHilsen plangruppe",
    )


_CHANGES = {
    "PASSWORD": "passordet ditt",
    "EMAIL": "e-postadressen din",
    "MOBILE": "mobilnummeret ditt",
    "OTP_CHANNEL": "måten du får engangskoder på",
    "IDENTITY": "innloggingen din: en ny innloggingsmåte (ID-porten, HelseID e.l.) er koblet til",
}


def change_notice(what: str) -> Text:
    return Text(
        "Endring på brukeren din i plangruppe",
        f"Hei!\n\nDet er gjort en endring av {_CHANGES[what]} i plangruppe. "
        "Var det ikke deg, ta kontakt med kommunen din straks.\n\nHilsen plangruppe",
    )


# --- a change of e-mail or mobile, waiting for the account holder (engangslenke) ------------


def contact_confirmation_email(link: str) -> Text:
    """To the new address: only the holder, logged in as themselves, can confirm."""
    return Text(
        "Bekreft ny e-postadresse i plangruppe",
        "Hei!\n\nDet er bedt om at denne e-postadressen skal brukes for en bruker i "
        "plangruppe. Er det din bruker, logg inn som deg selv og åpne lenken under for å "
        "bekrefte. Lenken gjelder i sju dager og kan brukes én gang:\n\n"
        f"{link}\n\nKjenner du ikke til dette, kan du se bort fra e-posten. Ingenting endres "
        "før brukerens eier selv har bekreftet.\n\nHilsen plangruppe",
    )


def contact_confirmation_sms(link: str) -> Text:
    return Text(
        "",
        "plangruppe: Bekreft nytt mobilnummer. Logg inn som deg selv og åpne lenken innen "
        f"sju dager: {link} Kjenner du ikke til dette, se bort fra meldingen.",
    )


def contact_removal_confirmation(link: str) -> Text:
    """To the confirmed e-mail: the holder's mobile number is to be removed."""
    return Text(
        "Bekreft at mobilnummeret ditt skal fjernes i plangruppe",
        "Hei!\n\nDet er bedt om å fjerne mobilnummeret ditt i plangruppe. Vil du det, logg "
        "inn og åpne lenken under for å bekrefte. Lenken gjelder i sju dager og kan brukes én "
        f"gang:\n\n{link}\n\nVil du ikke det, trenger du ikke gjøre noe, men si gjerne fra "
        "til kommunen din.\n\nHilsen plangruppe",
    )


_REQUESTED = {"EMAIL": "e-postadressen din", "MOBILE": "mobilnummeret ditt"}


def contact_change_requested(what: str) -> Text:
    """To the holder's confirmed e-mail: a change of their e-mail or mobile was asked for."""
    return Text(
        "Forespørsel om endring på brukeren din i plangruppe",
        f"Hei!\n\nDet er bedt om å endre {_REQUESTED[what]} i plangruppe. Endringen skjer "
        "først når du selv bekrefter den, logget inn, med lenken som er sendt til den nye "
        "adressen eller det nye nummeret. Var det ikke deg, trenger du ikke gjøre noe, men si "
        "gjerne fra til kommunen din.\n\nHilsen plangruppe",
    )


def contact_change_requested_sms(what: str) -> Text:
    return Text(
        "",
        f"plangruppe: Det er bedt om å endre {_REQUESTED[what]}. Ingenting endres før du selv "
        "bekrefter det. Var det ikke deg, trenger du ikke gjøre noe.",
    )


_EVENTS = {
    "MESSAGE_TO_ME": (
        "Ny melding i plangruppe",
        "Du har fått en ny melding i en plan du deltar i.",
    ),
    "GOAL_OR_ACTIVITY": (
        "Endring i mål eller tiltak",
        "Det er lagt til eller endret et mål eller et tiltak i en plan du deltar i.",
    ),
    "COMMENT": (
        "Ny kommentar i plangruppe",
        "Det er skrevet en ny kommentar i en plan du deltar i.",
    ),
    "CALENDAR_ENTRY": (
        "Endring i kalenderen",
        "Det er lagt inn, endret eller avlyst en avtale i kalenderen til en plan du deltar i.",
    ),
    "PARTICIPANT_ADDED": (
        "Ny deltaker i plangruppa",
        "Det er lagt til en ny deltaker i en plan du deltar i.",
    ),
}


def event_email(event: str) -> Text:
    """Only that something is new: never the plan, a name or any content."""
    subject, line = _EVENTS[event]
    return Text(subject, f"Hei!\n\n{line} Logg inn i plangruppe for å se det.\n\nHilsen plangruppe")


def event_sms(event: str) -> Text:
    subject, _ = _EVENTS[event]
    return Text("", f"plangruppe: {subject}. Logg inn for å se det.")


def consent_expiry_warning(days: int) -> Text:
    return Text(
        "Samtykke utløper snart",
        f"Hei!\n\nSamtykket for en deltaker i en plan du koordinerer utløper om {days} dager "
        "eller mindre. Logg inn i plangruppe for å se hvilken plan det gjelder og fornye "
        "samtykket.\n\nHilsen plangruppe",
    )


def coordinator_changed() -> Text:
    """To everyone in the plan when it gets a new coordinator; no plan content."""
    return Text(
        "Ny koordinator i plangruppe",
        "Hei!\n\nEn plan du deltar i har fått ny koordinator. Logg inn i plangruppe for å se "
        "det.\n\nHilsen plangruppe",
    )


def revision_reminder(days_left: int) -> Text:
    """To the coordinator before a plan's revision date; no plan content."""
    when = "i dag" if days_left <= 0 else f"om {days_left} dager"
    return Text(
        "Revidering av plan nærmer seg",
        f"Hei!\n\nEn plan du er koordinator for skal revideres {when}. Logg inn i "
        "plangruppe for å se den.\n\nHilsen plangruppe",
    )


def consent_requested() -> Text:
    """To the person the coordinator named to give a consent; no plan content."""
    return Text(
        "Du er bedt om å gi samtykke i plangruppe",
        "Hei!\n\nKoordinatoren for en plan har bedt deg om å gi samtykke. Logg inn i "
        "plangruppe for å lese og svare.\n\nHilsen plangruppe",
    )


def consent_given() -> Text:
    return Text(
        "Samtykke er gitt i plangruppe",
        "Hei!\n\nSamtykket for en plan du er koordinator for er gitt. Logg inn i plangruppe "
        "for å se det.\n\nHilsen plangruppe",
    )


def consent_expiring_owner(days_left: int) -> Text:
    """To the owner (or parent or verge) who gave a consent, before it expires."""
    return Text(
        "Samtykket ditt i plangruppe går snart ut",
        f"Hei!\n\nSamtykket du har gitt for en plan går ut om {days_left} dager. Logg inn i "
        "plangruppe for å fornye det, eller snakk med koordinatoren.\n\nHilsen plangruppe",
    )
