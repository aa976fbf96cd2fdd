"""What the front desk shows, in French and English. One key per message, the same keys in
both languages (a test checks it), ``str.format`` fields for the figures."""

from __future__ import annotations

from typing import Literal

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = ("fr", "en")

MESSAGES: dict[str, dict[Lang, str]] = {
    "card": {
        "fr": "Carte {number} — cagnotte {available}, en attente {pending}, visites {visits}",
        "en": "Card {number} — cagnotte {available}, pending {pending}, visits {visits}",
    },
    "card_units": {
        "fr": "Unités (points ou tampons) : {units}",
        "en": "Units (points or stamps): {units}",
    },
    "card_expires": {"fr": "Valable jusqu'au {date}", "en": "Valid until {date}"},
    "sale_done": {
        "fr": "Vente {amount} enregistrée : +{reward} de cagnotte. Cagnotte {available}, "
        "en attente {pending}, visites {visits}",
        "en": "Sale {amount} recorded: +{reward} cagnotte. Cagnotte {available}, "
        "pending {pending}, visits {visits}",
    },
    "sale_reason": {"fr": "Sans récompense complète : {detail}", "en": "No full reward: {detail}"},
    "redeem_done": {
        "fr": "Paiement de {amount} avec la cagnotte. Reste {available}",
        "en": "Paid {amount} from the cagnotte. Left {available}",
    },
    "phone_sale_done": {
        "fr": "Vente {amount} pour {phone} : +{reward}, cagnotte {available}",
        "en": "Sale {amount} for {phone}: +{reward}, cagnotte {available}",
    },
    "phone_sale_pending": {
        "fr": "Vente transmise, réponse en attente ({status})",
        "en": "Sale sent, answer pending ({status})",
    },
    "anonymous_done": {
        "fr": "Vente sans client de {amount} enregistrée (statistiques)",
        "en": "Sale without a member of {amount} recorded (statistics)",
    },
    "anonymous_offline": {
        "fr": "Hors ligne : la vente sans client n'est pas enregistrée",
        "en": "Offline: the sale without a member is not recorded",
    },
    "journal_warning": {
        "fr": "Attention : journal rempli à {percent} % ({pending}/{capacity}). Synchronisez.",
        "en": "Warning: journal {percent}% full ({pending}/{capacity}). Please sync.",
    },
    "sync_done": {
        "fr": "Synchronisation terminée : {sent} transactions envoyées, paramètres v{params}, "
        "liste noire v{blacklist}",
        "en": "Sync done: {sent} transactions sent, parameters v{params}, blacklist v{blacklist}",
    },
    "sync_failed": {"fr": "Synchronisation impossible : {detail}", "en": "Sync failed: {detail}"},
    "status": {
        "fr": "Terminal {terminal} ({label}) — journal {pending}/{capacity}, paramètres "
        "v{params}, liste noire v{blacklist}, prochaine synchro {next_sync}",
        "en": "Terminal {terminal} ({label}) — journal {pending}/{capacity}, parameters "
        "v{params}, blacklist v{blacklist}, next sync {next_sync}",
    },
    # Refusals, by code.
    "card_lost": {
        "fr": "Carte refusée : déclarée perdue",
        "en": "Card refused: reported lost",
    },
    "card_stolen": {"fr": "Carte refusée : déclarée volée", "en": "Card refused: reported stolen"},
    "card_replaced": {
        "fr": "Carte refusée : remplacée par une nouvelle carte",
        "en": "Card refused: replaced by a new card",
    },
    "card_cancelled": {"fr": "Carte refusée : annulée", "en": "Card refused: cancelled"},
    "card_cloned": {
        "fr": "Carte refusée : copie frauduleuse détectée",
        "en": "Card refused: a fraudulent copy was detected",
    },
    "card_found": {"fr": "Carte refusée", "en": "Card refused"},
    "card_blocked": {"fr": "Carte bloquée", "en": "Card blocked"},
    "card_expired": {
        "fr": "Carte refusée : expirée le {date}",
        "en": "Card refused: expired on {date}",
    },
    "card_dormant": {
        "fr": "Carte refusée : inutilisée depuis le {last_used_on} (plus de {days} jours), "
        "à réactiver par l'association",
        "en": "Card refused: unused since {last_used_on} (over {days} days), "
        "to be reactivated by the association",
    },
    "card_not_accepted": {
        "fr": "Carte refusée : ce type de carte n'est pas accepté dans ce commerce",
        "en": "Card refused: this card type is not accepted in this shop",
    },
    "card_does_not_earn": {
        "fr": "Cette carte ne cumule pas de cagnotte",
        "en": "This card earns no cagnotte",
    },
    "insufficient_balance": {
        "fr": "Cagnotte insuffisante : {available} disponible",
        "en": "Not enough cagnotte: {available} available",
    },
    "journal_full": {
        "fr": "Journal plein ({capacity} ventes) : synchronisez avant d'utiliser une carte. "
        "La vente peut se faire sans fidélité.",
        "en": "Journal full ({capacity} sales): sync before using a card. The sale can go on "
        "without loyalty.",
    },
    "not_configured": {
        "fr": "Terminal non configuré : lancez une première synchronisation",
        "en": "Terminal not configured: run a first sync",
    },
    "no_card": {"fr": "Insérez une carte", "en": "Insert a card"},
    "card_error": {"fr": "Erreur de carte : {detail}", "en": "Card error: {detail}"},
    "bad_mac": {
        "fr": "Carte refusée : clé invalide (carte ou module de sécurité)",
        "en": "Card refused: invalid key (card or security module)",
    },
    "unknown_key_version": {
        "fr": "Carte refusée : le module de sécurité n'a pas les clés de sa version",
        "en": "Card refused: the security module lacks the keys of its version",
    },
    "offline": {
        "fr": "Hors ligne : l'identification par téléphone ou e-mail demande une connexion",
        "en": "Offline: identifying by phone or e-mail needs a connection",
    },
    "refused_online": {"fr": "Refusé : {detail}", "en": "Refused: {detail}"},
    "bad_input": {"fr": "Saisie invalide : {detail}", "en": "Invalid input: {detail}"},
    "help": {
        "fr": "Commandes : carte | vente MONTANT [FAMILLE] [xQTE] | payer MONTANT|tout | "
        "tel NUMERO|E-MAIL MONTANT [FAMILLE] | anonyme MONTANT [FAMILLE] | synchro [ip|ligne] | etat | journal | langue en | quitter",
        "en": "Commands: card | sale AMOUNT [FAMILY] [xQTY] | pay AMOUNT|all | "
        "phone NUMBER|E-MAIL AMOUNT [FAMILY] | anonymous AMOUNT [FAMILY] | sync [ip|line] | status | journal | language fr | quit",
    },
    "unknown_command": {
        "fr": "Commande inconnue : {command}. Tapez aide.",
        "en": "Unknown command: {command}. Type help.",
    },
}


class _Fields(dict[str, object]):
    """Messages name different fields: one a refusal did not give prints as '?'."""

    def __missing__(self, key: str) -> str:
        return "?"


def say(lang: Lang, key: str, **fields: object) -> str:
    return MESSAGES[key][lang].format_map(_Fields(fields))


def euros(cents: int, lang: Lang) -> str:
    """12,50 € in French, €12.50 in English: integer arithmetic only."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    if lang == "fr":
        return f"{sign}{whole},{part:02d} €"
    return f"{sign}€{whole}.{part:02d}"


def parse_euros(text: str) -> int:
    """'12,50', '12.5', '12' → cents; refuses negatives, more than 2 decimals, non-digits."""
    t = text.strip().replace("€", "").replace(",", ".").strip()
    whole, _, part = t.partition(".")
    if (
        not whole.isascii()
        or not whole.isdigit()
        or (part and not (part.isascii() and part.isdigit()))
    ):
        raise ValueError(f"{text!r} is not an amount")
    if len(part) > 2:
        raise ValueError(f"{text!r} has more than two decimals")
    return int(whole) * 100 + int(part.ljust(2, "0") or "0")
