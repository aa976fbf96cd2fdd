"""The front desk's words, French first (the key is the English), and what each refusal of
the services says to the person at the counter (words.py merges these into the pages')."""

from __future__ import annotations

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
    "The purchase itself is recorded by the shop's till.": (
        "L'achat lui-même est enregistré par la caisse du commerce."
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
}
_STATUSES = {
    403: "This is outside what your access reaches.",
    404: "Not found.",
    409: "This card cannot be blocked any more.",
    503: "A service does not answer: try again in a moment.",
}


def refusal(reason: str, status: int, language: str) -> str:
    """One sentence for a service's refusal, in the person's language."""
    key = _REASONS.get(reason) or _STATUSES.get(status) or "The request was refused ({reason})."
    text = FR.get(key, key) if language == "fr" else key
    return text.format(reason=reason)
