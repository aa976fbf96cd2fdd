"""The front desk's words, French first (the key is the English), and what each refusal of
the services says to the person at the counter (words.py merges these into the pages')."""

from __future__ import annotations

from collections.abc import Callable, Mapping

# What a page calls to word a service's refusal: (reason, status, language) -> a sentence.
Refusal = Callable[[str, int, str], str]

FR: dict[str, str] = {
    "Front desk": "Comptoir (CARD)",
    "Find a customer": "Trouver un client",
    "Card number, phone, e-mail or name": "Numéro de carte, mobile, e-mail ou nom",
    "Find": "Chercher",
    "Type a card number, a phone, an e-mail or a name.": (
        "Saisissez un numéro de carte, un mobile, une adresse e-mail ou un nom."
    ),
    "Nobody found: check it, or enrol the customer.": (
        "Personne n'a été trouvé : vérifiez, ou inscrivez le client."
    ),
    "Customers found": "Clients trouvés",
    "Enrol a customer": "Inscrire un client",
    "Mobile or e-mail": "Mobile ou e-mail",
    "First name (optional)": "Prénom (facultatif)",
    "Enrol": "Inscrire",
    "Give a mobile number or an e-mail address.": "Donnez un numéro de mobile ou une adresse e-mail.",
    "Customer": "Client",
    "Cagnotte": "Cagnotte",
    "Pending": "En attente",
    "Stored value": "Porte-monnaie",
    "Points or stamps": "Points ou tampons",
    "Visits": "Passages",
    "Status": "Statut",
    "No status level yet": "Pas encore de statut",
    "To fill in": "À remplir",
    "Complete": "Complet",
    "title": "civilité",
    "last_name": "nom",
    "first_name": "prénom",
    "mobile_or_email": "mobile ou e-mail",
    "postal_code": "code postal",
    "Resend the details link": "Renvoyer le lien de validation",
    "The link to complete their details is on its way.": (
        "Le lien pour compléter ses coordonnées vient d'être envoyé."
    ),
    "Cards": "Cartes",
    "Block: lost": "Bloquer : perdue",
    "Block: stolen": "Bloquer : volée",
    "The card is blocked: no till accepts it any more.": (
        "La carte est bloquée : aucune caisse ne l'accepte plus."
    ),
    "active": "active",
    "lost": "perdue",
    "stolen": "volée",
    "replaced": "remplacée",
    "cancelled": "annulée",
    "A purchase": "Un achat",
    "Amount": "Montant",
    "Product family": "Famille de produits",
    "Any": "Sans famille",
    "See the reward": "Voir la récompense",
    "The amount is not a price: for example 12,50.": (
        "Ce montant n'est pas un prix : par exemple 12,50."
    ),
    "Reward:": "Récompense :",
    "Why:": "Pourquoi :",
    "No reward for this purchase.": "Pas de récompense pour cet achat.",
    "Nothing is recorded: record the purchase to book it.": (
        "Rien n'est enregistré : enregistrez l'achat pour le comptabiliser."
    ),
    # Bookings at the desk (desk_bookings.py, desk_booked.html).
    "Record the purchase": "Enregistrer l'achat",
    "Spend from the cagnotte": "Utiliser la cagnotte",
    "Amount to spend": "Montant à utiliser",
    "available:": "disponible :",
    "Spend": "Utiliser",
    "Purchase and return": "Achat et retour",
    "cagnottage": "cagnottage",
    "decagnottage": "décagnottage",
    "points": "points",
    "stamps": "tampons",
    "Recorded": "Enregistré",
    "Back to the customer": "Retour au client",
    "A return": "Un retour",
    "Being recorded: refresh this page in a moment.": (
        "En cours d'enregistrement : actualisez cette page dans un instant."
    ),
    "Recorded: a purchase of": "Enregistré : un achat de",
    "Not earned:": "Non acquis :",
    "until the visit threshold": "jusqu'au seuil de passages",
    "Recorded: spent from the cagnotte": "Enregistré : utilisé sur la cagnotte",
    "Recorded: a return of": "Enregistré : un retour de",
    "Reward taken back:": "Récompense reprise :",
    "Amount returned": "Montant rendu",
    "Kind of return": "Type de retour",
    "Goods returned": "Marchandise rendue",
    "Sale cancelled": "Vente annulée",
    "Record the return": "Enregistrer le retour",
    "Give an amount between 0.01 and 100,000 euros, for example 12.50.": (
        "Donnez un montant entre 0,01 et 100 000 euros, par exemple 12,50."
    ),
    "Choose a product family of the list.": "Choisissez une famille de produits de la liste.",
    "The enrolment is being recorded: refresh in a moment.": (
        "L'inscription est en cours d'enregistrement : actualisez dans un instant."
    ),
    "The cagnotte does not hold that much.": "La cagnotte ne contient pas autant.",
    "That is more than was bought.": "C'est plus que le montant acheté.",
    "This sale is not known at this shop.": "Cette vente est inconnue dans ce commerce.",
    "The reward of this sale has already been spent.": (
        "La récompense de cette vente a déjà été utilisée."
    ),
    "This customer is not known.": "Ce client est inconnu.",
    "This card cannot be used: blocked, expired or not accepted here.": (
        "Cette carte ne peut pas servir : bloquée, expirée ou non acceptée ici."
    ),
    "This form was already used for something else: reload the page.": (
        "Ce formulaire a déjà servi à autre chose : rechargez la page."
    ),
    "It could not be recorded; nothing was booked. Tell the operator.": (
        "L'enregistrement a échoué ; rien n'a été comptabilisé. Prévenez l'opérateur."
    ),
    "This customer has no card, mobile or e-mail to book with.": (
        "Ce client n'a ni carte, ni mobile, ni e-mail pour enregistrer l'opération."
    ),
    "Last entries": "Dernières opérations",
    "None yet.": "Aucune pour l'instant.",
    # Refusals, by the services' reason.
    "This is outside what your access reaches.": "Ceci est hors du périmètre de votre accès.",
    "This customer is already enrolled.": "Ce client est déjà inscrit.",
    "See this customer": "Voir ce client",
    "This card cannot be blocked any more.": "Cette carte ne peut plus être bloquée.",
    "This customer has no e-mail or mobile to send the link to.": (
        "Ce client n'a ni e-mail ni mobile où envoyer le lien."
    ),
    "A service does not answer: try again in a moment.": (
        "Un service ne répond pas : réessayez dans un instant."
    ),
    "Not found.": "Introuvable.",
    "The request was refused ({reason}).": "La demande a été refusée ({reason}).",
}

# A service's reason → the sentence shown (the status decides when the reason is not known).
_REASONS = {
    "out_of_scope": "This is outside what your access reaches.",
    "already_enrolled": "This customer is already enrolled.",
    "unreachable": "A service does not answer: try again in a moment.",
    "no_contact": "This customer has no e-mail or mobile to send the link to.",
    "insufficient_balance": "The cagnotte does not hold that much.",
    "return_exceeds_sale": "That is more than was bought.",
    "unknown_sale": "This sale is not known at this shop.",
    "would_go_negative": "The reward of this sale has already been spent.",
    "unknown_account": "This customer is not known.",
    "id_conflict": "This form was already used for something else: reload the page.",
    "not_processed": "It could not be recorded; nothing was booked. Tell the operator.",
    "no_key": "This customer has no card, mobile or e-mail to book with.",
}
_CARD = "This card cannot be used: blocked, expired or not accepted here."
_STATUSES = {
    403: "This is outside what your access reaches.",
    404: "Not found.",
    409: "This card cannot be blocked any more.",
    503: "A service does not answer: try again in a moment.",
}


def refusal(reason: str, status: int, language: str) -> str:
    """One sentence for a service's refusal, in the person's language."""
    key = (
        _REASONS.get(reason)
        or (_CARD if reason.startswith("card_") else None)
        or _STATUSES.get(status)
        or "The request was refused ({reason})."
    )
    text = FR.get(key, key) if language == "fr" else key
    return text.format(reason=reason)


def refusals(reasons: Mapping[str, str], fr: Mapping[str, str]) -> Refusal:
    """A part's ``refusal``: its own sentences for its reasons (``fr`` their French), else the
    desk's for the refusals every page shares (unreachable, out of scope, not found...)."""

    def own(reason: str, status: int, language: str) -> str:
        key = reasons.get(reason)
        if key is None:
            return refusal(reason, status, language)
        return fr.get(key, key) if language == "fr" else key

    return own
