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
    "Which merchant's back office": "Le back-office de quel commerçant",
    "Open": "Ouvrir",
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
    "None sent yet.": "Aucun envoyé pour l'instant.",
    "Asked at": "Demandé le",
    "Messages asked": "Messages demandés",
    "Refresh": "Actualiser",
    "Campaign": "Campagne",
    "Created": "Créée le",
    "When": "Quand",
    "Once: now, or when I send the draft": "Une fois : maintenant, ou quand j'envoie le brouillon",
    "Every month, on a day": "Chaque mois, un jour donné",
    # scheduled campaigns
    "Once, later: on a day at a time (Paris time)": (
        "Une fois, plus tard : un jour à une heure (heure de Paris)"
    ),
    "Day": "Jour",
    "Time": "Heure",
    "Send now or at the time chosen": "Envoyer maintenant ou à l'heure choisie",
    "scheduled": "programmée",
    "cancelled": "annulée",
    "Goes on": "Part le",
    "Change the time": "Changer l'heure",
    "Send later": "Envoyer plus tard",
    "Paris time. Consent is checked when it goes.": (
        "Heure de Paris. Le consentement est vérifié au moment de l'envoi."
    ),
    "Schedule": "Programmer",
    "Cancel the campaign": "Annuler la campagne",
    "change or cancel": "changer ou annuler",
    "A day and a time, such as 2026-12-24 and 18:30.": (
        "Un jour et une heure, par exemple 2026-12-24 et 18:30."
    ),
    "Choose a time to come.": "Choisissez une heure à venir.",
    "Choose a time within a year.": "Choisissez une heure dans l'année qui vient.",
    "This campaign was cancelled.": "Cette campagne a été annulée.",
    "This time is past, or more than a year ahead.": ("Cette heure est passée, ou à plus d'un an."),
    "Day of the month (1 to 28)": "Jour du mois (1 à 28)",
    "Every month, on day {day}": "Chaque mois, le {day}",
    # the form's mistakes
    "A day of the month, from 1 to 28.": "Un jour du mois, de 1 à 28.",
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
    # product families and rates
    "Your customers' rate": "Taux client de votre commerce",
    "The network's fee rate": "Taux de commission du réseau",
    "The association's": "Celui de l'association",
    "Your shop's rates are set by the association.": (
        "Les taux de votre commerce sont fixés par l'association."
    ),
    "Product families": "Familles de produits",
    "Code": "Code",
    "Label": "Libellé",
    "Own rate": "Taux propre",
    "Rules": "Règles",
    "Remove": "Retirer",
    "No product family yet.": "Aucune famille de produits pour l'instant.",
    "Add or change a family": "Ajouter ou modifier une famille",
    "Own rate in % (optional)": "Taux propre en % (facultatif)",
    "Save the family": "Enregistrer la famille",
    "A code of letters, digits, dots, dashes (64 at most).": (
        "Un code de lettres, chiffres, points, tirets (64 au plus)."
    ),
    "Give the family a label.": "Donnez un libellé à la famille.",
    "A rate in percent, such as 3 or 2,5.": "Un taux en pourcentage, par exemple 3 ou 2,5.",
    # promotions
    "Your promotions": "Vos promotions",
    "The reward": "Récompense",
    "Families": "Familles",
    "From": "Du",
    "Until (excluded)": "Jusqu'au (exclu)",
    "All": "Toutes",
    "Ended": "Terminée",
    "End": "Terminer",
    "No promotion yet.": "Aucune promotion pour l'instant.",
    "The association's promotions": "Les promotions de l'association",
    "New promotion": "Nouvelle promotion",
    "First day": "Premier jour",
    "Last day": "Dernier jour",
    "A rate": "Un taux",
    "A multiplier": "Un multiplicateur",
    "Rate in %": "Taux en %",
    "Multiplier (×)": "Multiplicateur (×)",
    "Create the promotion": "Créer la promotion",
    "Give the promotion a name.": "Donnez un nom à la promotion.",
    "A day, such as 2026-12-24.": "Un jour, par exemple 2026-12-24.",
    "The last day comes on or after the first.": "Le dernier jour vient après le premier.",
    "A multiplier from 1 to 100, such as 2.": "Un multiplicateur de 1 à 100, par exemple 2.",
    # the customer file
    "A name": "Un nom",
    "Customers": "Clients",
    "Spent": "Dépensé",
    "à remplir": "à remplir",
    "Nobody here.": "Personne pour l'instant.",
    "Next page": "Page suivante",
    "Last visit": "Dernier passage",
    "Enrolled on": "Inscrit le",
    "Notes": "Notes",
    "No note yet.": "Aucune note pour l'instant.",
    "A note": "Une note",
    "Add the note": "Ajouter la note",
    "Type at least two letters of a name.": "Saisissez au moins deux lettres d'un nom.",
    "Write the note (500 characters at most).": "Écrivez la note (500 caractères au plus).",
    "The file's notes are full (4000 characters).": (
        "Les notes de la fiche sont pleines (4000 caractères)."
    ),
    # statements
    "A month not closed yet shows a provisional statement.": (
        "Un mois pas encore clos montre un relevé provisoire."
    ),
    "Statement": "Relevé",
    "Download (Excel)": "Télécharger (Excel)",
    "Download the file (Excel)": "Télécharger le fichier (Excel)",
    "Download the file (CSV)": "Télécharger le fichier (CSV)",
    "Download (CSV)": "Télécharger (CSV)",
    # staff, terminals
    "The people of your counter": "Les personnes de votre comptoir",
    "Password chosen": "Mot de passe choisi",
    "Yes": "Oui",
    "Not yet": "Pas encore",
    "A new member of staff": "Un nouveau membre de l'équipe",
    "They receive a link by e-mail to choose their password.": (
        "Il ou elle reçoit par e-mail un lien pour choisir son mot de passe."
    ),
    "Create": "Créer",
    "Give their name.": "Donnez son nom.",
    "Give their e-mail address.": "Donnez son adresse e-mail.",
    "This e-mail address is already another person's.": (
        "Cette adresse e-mail est déjà celle d'une autre personne."
    ),
    "Your tills": "Vos caisses",
    "In service": "En service",
    "Out of service": "Hors service",
    "No terminal yet.": "Aucun terminal pour l'instant.",
}

# Names whose key is not the English (dotted keys): (key, English, French).
_NAMES: tuple[tuple[str, str, str], ...] = (
    ("msg.requested", "asked", "demandés"),
    ("msg.queued", "queued", "en file"),
    ("msg.deferred", "deferred", "différés"),
    ("msg.sent", "sent", "envoyés"),
    ("msg.delivered", "delivered", "délivrés"),
    ("msg.failed", "failed", "en échec"),
    ("flag.tobacco", "tobacco (earns nothing)", "tabac (ne rapporte rien)"),
    ("flag.gambling", "gambling (earns nothing)", "jeux (ne rapportent rien)"),
    ("flag.book", "books (5 % at most)", "livres (5 % au plus)"),
    (
        "statement.provisional",
        "Provisional: the month is not closed.",
        "Provisoire : le mois n'est pas clos.",
    ),
    ("statement.closed", "Closed.", "Clos."),
    ("st.purchases_count", "Purchases", "Achats"),
    ("st.purchases_cents", "Amount of the purchases", "Montant des achats"),
    ("st.cagnottages_cents", "Rewards granted", "Cagnottages"),
    ("st.fees_cents", "The network's fees", "Commissions du réseau"),
    ("st.returns_cents", "Returns", "Retours"),
    ("st.redemptions_cents", "Redemptions in your shop", "Décagnottages chez vous"),
    ("st.stored_value_spent_cents", "Gift and prepaid cards spent", "Cartes cadeaux et prépayées"),
    ("st.adjustments_cents", "Adjustments", "Régularisations"),
    ("st.net_cents", "Net (more than 0: you pay)", "Net (plus de 0 : vous payez)"),
)
FR.update({key: fr for key, _, fr in _NAMES})
EN: dict[str, str] = {key: en for key, en, _ in _NAMES}

_REASONS = {
    "invalid_form": "Check the fields marked below.",
    "invalid_filter": "These filters contradict each other.",
    "campaign_sent": "This campaign was sent already.",
    "campaign_mismatch": "This campaign is not yours.",
    "campaign_cancelled": "This campaign was cancelled.",
    "send_at_past": "This time is past, or more than a year ahead.",
    "send_at_too_far": "This time is past, or more than a year ahead.",
    "unknown_campaign": "Not found.",
    "conflict": "This e-mail address is already another person's.",
}


# The back office's refusals, else the desk's (scope, services, not found).
refusal = desk_words.refusals(_REASONS, FR)
