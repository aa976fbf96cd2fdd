"""The back office's words, French first (the key is the English), and what each refusal of
the services says to a merchant's manager (words.py merges these into the pages')."""

from __future__ import annotations

from services.portal.entrypoints import desk_words

FR: dict[str, str] = {
    "Back office": "Back-office",
    "Your shop's back office": "Le back-office de votre commerce",
    "Statistics, charts and their downloads.": "Statistiques, graphiques et leurs exports.",
    "E-mails and SMS to your customers, and their results.": (
        "E-mails et SMS à vos clients, et leurs résultats."
    ),
    "Product families and rates": "Familles de produits et taux",
    "Your catalogue and what each family earns.": "Votre catalogue et ce que rapporte chaque famille.",
    "Promotions": "Promotions",
    "Offers for a while: list, create, end.": "Offres pour un temps : les voir, en créer, y mettre fin.",
    "Customer file": "Fichier clients",
    "Your customers, what is left to fill in, notes.": (
        "Vos clients, ce qui reste à remplir, des notes."
    ),
    "Statements": "Relevés",
    "Your monthly statements, to download.": "Vos relevés mensuels, à télécharger.",
    "Staff": "Équipe",
    "The people of your counter.": "Les personnes de votre comptoir.",
    "Terminals": "Terminaux",
    "Your tills and their state.": "Vos caisses et leur état.",
    # campaigns
    "Campaigns": "Campagnes",
    "New campaign": "Nouvelle campagne",
    "No campaign yet.": "Aucune campagne pour l'instant.",
    "Name": "Nom",
    "Channel": "Canal",
    "email": "e-mail",
    "sms": "SMS",
    "Kind of message": "Type de message",
    "quick_news": "brève",
    "newsletter": "lettre d'information",
    "Message": "Message",
    "Offer (optional)": "Offre (facultatif)",
    "Who receives it": "Qui la reçoit",
    "Only the customers who agreed to receive your messages on this channel receive it.": (
        "Seuls les clients qui ont accepté vos messages sur ce canal la reçoivent."
    ),
    "Came in the last … days": "Venus dans les … derniers jours",
    "Not seen for … days": "Pas venus depuis … jours",
    "Spent at least (€)": "Ont dépensé au moins (€)",
    "At least … visits": "Au moins … passages",
    "Bought in the family": "Ont acheté dans la famille",
    "Any family": "Toute famille",
    "Preview the size": "Voir la taille",
    "Save as a draft": "Enregistrer en brouillon",
    "Send now": "Envoyer maintenant",
    "Segment size": "Taille du segment",
    "{size} customer(s), of whom {consenting} would receive it.": (
        "{size} client(s), dont {consenting} la recevraient."
    ),
    "Size": "Taille",
    "Would receive": "La recevraient",
    "State": "État",
    "draft": "brouillon",
    "sending": "en cours d'envoi",
    "sent": "envoyée",
    "monthly": "mensuelle",
    "Messages": "Messages",
    "requested": "demandés",
    "queued": "en file",
    "deferred": "différés",
    "delivered": "délivrés",
    "failed": "en échec",
    "None sent yet.": "Aucun envoyé pour l'instant.",
    "Asked at": "Demandé le",
    "Messages asked": "Messages demandés",
    "Refresh": "Actualiser",
    "Campaign": "Campagne",
    "Created": "Créée le",
    # the form's mistakes
    "Check the fields marked below.": "Vérifiez les champs signalés ci-dessous.",
    "Give the campaign a name (100 characters at most).": (
        "Donnez un nom à la campagne (100 caractères au plus)."
    ),
    "Choose e-mail or SMS.": "Choisissez e-mail ou SMS.",
    "Choose quick news or the newsletter.": "Choisissez la brève ou la lettre d'information.",
    "Write the message.": "Écrivez le message.",
    "The message is too long for this channel.": "Le message est trop long pour ce canal.",
    "The offer is too long (200 characters at most).": (
        "L'offre est trop longue (200 caractères au plus)."
    ),
    "A number of days, from 1 to 3650.": "Un nombre de jours, de 1 à 3650.",
    "Seen lately and not seen lately cannot both hold.": (
        "« Venus récemment » et « pas venus depuis » ne peuvent pas valoir ensemble."
    ),
    "A number of visits, such as 3.": "Un nombre de passages, par exemple 3.",
    "Choose one of your product families.": "Choisissez une de vos familles de produits.",
    # refusals
    "These filters contradict each other.": "Ces filtres se contredisent.",
    "This campaign was sent already.": "Cette campagne est déjà partie.",
    "This campaign is not yours.": "Cette campagne n'est pas la vôtre.",
}

_REASONS = {
    "invalid_form": "Check the fields marked below.",
    "invalid_filter": "These filters contradict each other.",
    "campaign_sent": "This campaign was sent already.",
    "campaign_mismatch": "This campaign is not yours.",
    "unknown_campaign": "Not found.",
}


def refusal(reason: str, status: int, language: str) -> str:
    """The back office's refusals, else the desk's (scope, services, not found)."""
    key = _REASONS.get(reason)
    if key is None:
        return desk_words.refusal(reason, status, language)
    return FR.get(key, key) if language == "fr" else key
