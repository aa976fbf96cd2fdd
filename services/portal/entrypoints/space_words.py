"""The cardholder space's words, French first (the key is the English): kept beside
words.py, which merges them, so that the space's pages add no lines to the shared table."""

from __future__ import annotations

FR: dict[str, str] = {
    "Your card": "Votre carte",
    "Hello {name}": "Bonjour {name}",
    "Balance": "Solde",
    "History": "Historique",
    "Consents": "Consentements",
    "The network's shops": "Les commerces du réseau",
    "Your data": "Vos données",
    "Cagnotte": "Cagnotte",
    "Pending": "En attente",
    "Stored value": "Porte-monnaie",
    "Visits": "Passages",
    "Status": "Statut",
    "No status level yet": "Pas encore de statut",
    "Unavailable for now.": "Indisponible pour le moment.",
    "Date": "Date",
    "What": "Opération",
    "Shop": "Commerce",
    "Amount": "Montant",
    "purchase of {amount}": "achat de {amount}",
    "No purchase yet.": "Pas encore d'achat.",
    "Your details": "Vos coordonnées",
    "Name": "Nom",
    "Mobile": "Mobile",
    "Address": "Adresse",
    "Birth date": "Date de naissance",
    "Card": "Carte",
    "Withdraw": "Retirer",
    "You have given no consent.": "Vous n'avez donné aucun consentement.",
    "Receive the network's news by": "Recevoir les nouvelles du réseau par",
    "Give my consent": "Donner mon consentement",
    "Your referral code": "Votre code de parrainage",
    "Give it to a friend who joins: you are both rewarded.": (
        "Donnez-le à un proche qui s'inscrit : vous êtes récompensés tous les deux."
    ),
    "Download your data": "Télécharger vos données",
    "Ask for your data to be erased": "Demander l'effacement de vos données",
    "Everything the network keeps about you, from every service.": (
        "Tout ce que le réseau garde sur vous, dans chacun de ses services."
    ),
    "Download (JSON)": "Télécharger (JSON)",
    "Download (CSV, for a spreadsheet)": "Télécharger (CSV, pour un tableur)",
    "Erasure": "Effacement",
    "Your details, consents and messages are erased in every service; the amounts stay in "
    "the books, under a pseudonym. This cannot be undone.": (
        "Vos coordonnées, consentements et messages sont effacés dans chaque service ; les "
        "montants restent dans les comptes, sous un pseudonyme. C'est définitif."
    ),
    "I understand, erase my data": "J'ai compris, effacez mes données",
    "Erase my data": "Effacer mes données",
    "Tick the box to confirm.": "Cochez la case pour confirmer.",
    "Your data are erased.": "Vos données sont effacées.",
    "You are signed out. Thank you for your visits.": (
        "Vous êtes déconnecté. Merci de vos visites."
    ),
    "Confirm by SMS": "Confirmer par SMS",
    "The code the SMS brought": "Le code reçu par SMS",
    "Confirm": "Confirmer",
    "Consent withdrawn.": "Consentement retiré.",
    "A link to confirm is on its way to your e-mail address.": (
        "Un lien de confirmation part vers votre adresse e-mail."
    ),
    "Your consent to letters is recorded: it awaits confirmation.": (
        "Votre consentement au courrier est noté : il attend sa confirmation."
    ),
    "Consent confirmed.": "Consentement confirmé.",
    "The request was refused ({reason}).": "La demande a été refusée ({reason}).",
    "Open your space": "Ouvrir votre espace",
    "Reward": "Gain",
    "Cagnotte spent": "Utilisation de la cagnotte",
    "Rewards unlocked": "Gains débloqués",
    "Pending rewards expired": "Gains en attente expirés",
    "Pending rewards lost": "Gains en attente perdus",
    "Points converted": "Conversion de points",
    "Cancelled": "Annulation",
    "Correction": "Correction",
    "Opening balance": "Solde repris",
    "Gift voucher": "Bon cadeau",
    "Money loaded": "Chargement",
    "Donation": "Don",
    "Sponsorship": "Parrainage",
    "e-mail": "e-mail",
    "SMS": "SMS",
    "letter": "courrier",
    "awaiting confirmation": "en attente de confirmation",
    "given": "donné",
    # one's details and messages to a shop (space_changes.py)
    "Change your details": "Modifier vos coordonnées",
    "Title": "Civilité",
    "Mr": "M.",
    "Ms": "Mme",
    "Mx": "Mx",
    "First name": "Prénom",
    "Last name": "Nom",
    "Postal code": "Code postal",
    "Town": "Ville",
    "Landline": "Téléphone fixe",
    "Language of the messages": "Langue des messages",
    "Your e-mail address ({email}) and mobile ({phone}) sign you in here: a shop of the "
    "network changes them.": (
        "Votre adresse e-mail ({email}) et votre mobile ({phone}) vous connectent ici : un "
        "commerce du réseau les change."
    ),
    "Save my details": "Enregistrer mes coordonnées",
    "Check these fields: {fields}.": "Vérifiez ces champs : {fields}.",
    "Your details are saved.": "Vos coordonnées sont enregistrées.",
    "Write to a shop": "Écrire à un commerce",
    "Your message": "Votre message",
    "Send": "Envoyer",
    "Your messages": "Vos messages",
    "No message yet.": "Pas encore de message.",
    "Choose a shop and write your message (2,000 characters at most).": (
        "Choisissez un commerce et écrivez votre message (2 000 caractères au plus)."
    ),
    "This shop is not one of your network's.": "Ce commerce n'est pas de votre réseau.",
    "Your message is sent to the shop.": "Votre message est envoyé au commerce.",
    "Messages": "Messages",
    "Customers' messages": "Les messages des clients",
    "A customer": "Un client",
}

# A code's words (an entry's kind, a channel, a consent's status): "kind:value" → the English
# key of FR above (space.py's ``label``).
LABELS: dict[str, str] = {
    "entry:cagnottage": "Reward",
    "entry:decagnottage": "Cagnotte spent",
    "entry:threshold_transfer": "Rewards unlocked",
    "entry:pending_expired": "Pending rewards expired",
    "entry:pending_lost": "Pending rewards lost",
    "entry:conversion": "Points converted",
    "entry:reversal": "Cancelled",
    "entry:adjustment": "Correction",
    "entry:opening_balance": "Opening balance",
    "entry:voucher": "Gift voucher",
    "entry:load": "Money loaded",
    "entry:donation": "Donation",
    "entry:sponsorship": "Sponsorship",
    "channel:email": "e-mail",
    "channel:sms": "SMS",
    "channel:post": "letter",
    "consent:pending": "awaiting confirmation",
    "consent:confirmed": "given",
}
