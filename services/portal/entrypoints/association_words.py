"""The association back office's words, French first (the key is the English), what each
refusal of the services says to the treasurer, and why cards held a card transaction
(words.py merges these into the pages')."""

from __future__ import annotations

from services.portal.entrypoints import desk_words
from services.portal.entrypoints.association_more_words import EN as _MORE_EN
from services.portal.entrypoints.association_more_words import FR as _MORE_FR
from services.portal.entrypoints.association_more_words import REASONS as _MORE_REASONS

FR: dict[str, str] = {
    "Association back office": "Espace association",
    "Association": "Association",
    "The books": "La comptabilité",
    "Clearing": "Compensation",
    "Periods": "Périodes",
    "Network statistics": "Statistiques du réseau",
    "Quarantine": "Quarantaine",
    "Reconciliation": "Rapprochement",
    "Merchants": "Commerçants",
    "Programmes": "Programmes",
    "Card types": "Types de carte",
    "Partners": "Partenaires",
    "Webhooks": "Webhooks",
    "Closed through": "Clôturé jusqu'à",
    "Open from": "Ouvert depuis",
    "Nothing is closed yet.": "Rien n'est encore clôturé.",
    "Period": "Période",
    "Closed on": "Clôturée le",
    "Closed by": "Clôturée par",
    "you": "vous",
    "Statements": "Relevés",
    "Settlement": "Règlement",
    "See": "Voir",
    "Close a month": "Clôturer un mois",
    "Month": "Mois",
    "Month (YYYY-MM)": "Mois (AAAA-MM)",
    "Continue": "Continuer",
    "Close {period}?": "Clôturer {period} ?",
    "Closing {period} freezes its statements, books the partners' shares and writes the "
    "settlement files, for {period} and every open month before it. Nothing can be booked "
    "in it afterwards: a correction is an adjustment.": (
        "Clôturer {period} fige ses relevés, comptabilise les parts des partenaires et écrit "
        "les fichiers de règlement, pour {period} et chaque mois ouvert avant lui. Plus rien ne "
        "pourra y être comptabilisé : une correction sera une régularisation."
    ),
    "Merchants' statements of {period} so far": "Relevés des commerçants de {period} à ce jour",
    "Close {period} for good": "Clôturer {period} définitivement",
    "Cancel": "Annuler",
    "Closed: {periods}. Written: {statements} statement(s), {shares} partner share(s) and "
    "the settlement below.": (
        "Clôturé : {periods}. Écrit : {statements} relevé(s), {shares} part(s) de partenaires "
        "et le règlement ci-dessous."
    ),
    "{period} was closed already: here is what was written.": (
        "{period} était déjà clôturé : voici ce qui a été écrit."
    ),
    "The month {period}": "Le mois {period}",
    "provisional": "provisoire",
    "closed": "clôturé",
    "Purchases": "Achats",
    "Rewards": "Cagnottages",
    "Fees": "Commissions",
    "Redemptions": "Décagnottages",
    "Partners' share": "Part des partenaires",
    "Adjustments": "Régularisations",
    "Net (+ pays, − is paid)": "Net (+ paie, − est payé)",
    "No statement.": "Aucun relevé.",
    "The month is open: its settlement is written at its close.": (
        "Le mois est ouvert : son règlement est écrit à sa clôture."
    ),
    "settlement.ready": "prêt",
    "settlement.no_bank_details": "coordonnées bancaires manquantes",
    "settlement.nothing_due": "rien à régler",
    "Direct debits": "Prélèvements",
    "Credit transfers": "Virements",
    "{n} for {amount}": "{n} pour {amount}",
    "Held back": "Retenus",
    "Settlement files": "Fichiers de règlement",
    "Download the direct debits (SEPA pain.008)": "Télécharger les prélèvements (SEPA pain.008)",
    "Download the credit transfers (SEPA pain.001)": "Télécharger les virements (SEPA pain.001)",
    "No file: nothing of that kind is due.": "Aucun fichier : rien de tel n'est dû.",
    "Last run": "Dernière exécution",
    "Never run.": "Jamais exécuté.",
    "Run it now": "Le lancer maintenant",
    "All checks agree.": "Tous les contrôles concordent.",
    "Some checks disagree: see below.": "Des contrôles ne concordent pas : voir ci-dessous.",
    "Check": "Contrôle",
    "Result": "Résultat",
    "Difference": "Écart",
    "agrees": "concorde",
    "disagrees": "ne concorde pas",
    "Card transactions in quarantine": "Transactions carte en quarantaine",
    "Offline card transactions cards did not book: approve one to book it, reject it "
    "otherwise. Who decides is recorded.": (
        "Transactions carte hors ligne que le système n'a pas comptabilisées : approuvez-en une "
        "pour la comptabiliser, rejetez-la sinon. Qui décide est enregistré."
    ),
    "Held": "En attente",
    "Approved": "Approuvées",
    "Rejected": "Rejetées",
    "Nothing here.": "Rien ici.",
    "Card": "Carte",
    "Amount": "Montant",
    "Occurred at": "Date",
    "Why it was held": "Pourquoi elle est retenue",
    "Decided by": "Décidée par",
    "Reason for the decision": "Motif de la décision",
    "Approve: book it": "Approuver : comptabiliser",
    "Reject": "Rejeter",
    "The card is at fault (block it)": "La carte est en cause (la bloquer)",
    "Give a reason of at least 5 characters.": "Donnez un motif d'au moins 5 caractères.",
    "Approved: the transaction is booked.": "Approuvée : la transaction est comptabilisée.",
    "Rejected: nothing is booked.": "Rejetée : rien n'est comptabilisé.",
    "This transaction was decided already: nothing was done again.": (
        "Cette transaction était déjà décidée : rien n'a été refait."
    ),
    "sale": "achat",
    "redemption": "décagnottage",
    "Name": "Nom",
    "Client rate (%)": "Taux client (%)",
    "Fee rate (%)": "Taux UC (%)",
    "Statements e-mail": "E-mail des relevés",
    "Left the network on": "A quitté le réseau le",
    "the network's": "celui du réseau",
    "Add a merchant": "Ajouter un commerçant",
    "Edit": "Modifier",
    "Save": "Enregistrer",
    "Saved.": "Enregistré.",
    "A rate is a percentage such as 2,5.": "Un taux est un pourcentage, par exemple 2,5.",
    "A name is needed.": "Un nom est nécessaire.",
    "The date is not a date.": "La date n'est pas une date.",
    "Kind": "Genre",
    "Valid": "Valide",
    "Subscribe": "S'abonner",
    "Address (https://)": "Adresse (https://)",
    "Events": "Événements",
    "Description (optional)": "Description (facultative)",
    "Choose at least one event.": "Choisissez au moins un événement.",
    "Subscribed. Its signing secret, shown this once:": (
        "Abonné. Son secret de signature, affiché cette seule fois :"
    ),
    "Delete": "Supprimer",
    "Deleted.": "Supprimé.",
    "No subscription.": "Aucun abonnement.",
    "Created on": "Créé le",
    "The reconciliation ran.": "Le rapprochement a été exécuté.",
    "Cards and vouchers": "Cartes et bons",
    "{n} cards made, numbers {first} to {last}.": ("{n} cartes créées, numéros {first} à {last}."),
    "Download the printer's file (CSV)": "Télécharger le fichier de l'imprimeur (CSV)",
    "Voucher batch": "Lot de bons",
    "Vouchers": "Bons",
    "Reason": "Motif",
    "Expires on": "Expire le",
    "Issued": "Émis",
    "Validated": "Validés",
    "Download the codes (CSV)": "Télécharger les codes (CSV)",
    "A batch of cards for the printer": "Un lot de cartes pour l'imprimeur",
    "Card type": "Type de carte",
    "The association's default": "Celui de l'association",
    "How many": "Combien",
    "Make the cards": "Créer les cartes",
    "A batch of gift vouchers": "Un lot de bons cadeaux",
    "Value of each (€)": "Valeur de chacun (€)",
    "Issue the vouchers": "Émettre les bons",
    "A batch has 1 to {n} cards.": "Un lot compte de 1 à {n} cartes.",
    "A batch has 1 to {n} vouchers.": "Un lot compte de 1 à {n} bons.",
    "The vouchers expire on a day to come.": "Les bons expirent un jour à venir.",
    "voucher.birthday": "anniversaire",
    "voucher.sponsorship": "parrainage",
    "voucher.big_purchase": "gros achat",
    "voucher.lottery": "tombola",
    "voucher.other": "autre",
    "The card type is accepted.": "Le type de carte est accepté.",
    "The acceptance is withdrawn.": "L'acceptation est retirée.",
    "Give the card type's id, as its association gave it.": (
        "Donnez l'identifiant du type de carte, tel que son association l'a donné."
    ),
    "Another association's card type": "Le type de carte d'une autre association",
    "Its id, as its association gave it": "Son identifiant, tel que son association l'a donné",
    "Accepted by": "Accepté par",
    "Every merchant of the association": "Tous les commerçants de l'association",
    "Accept it": "L'accepter",
    "Stop accepting it": "Ne plus l'accepter",
    "this association": "cette association",
    "Its own rates at the merchants": "Ses taux propres chez les commerçants",
    "the merchant's": "ceux du commerçant",
    "card.association": "carte de l'association",
    "card.generic": "carte générique",
    "card.merchant": "carte d'un commerçant",
    "card.gift": "carte cadeau",
    "card.prepaid": "carte prépayée",
    "card.epurse": "porte-monnaie électronique",
    "Members": "Membres",
    "Merchants who give back": "Commerçants qui reversent",
    "inactive": "inactive",
    "Add a partner association": "Ajouter une association partenaire",
    "Type a month such as 2026-10.": "Saisissez un mois, par exemple 2026-10.",
    "Webhook": "Webhook",
    "The new signing secret, shown this once:": (
        "Le nouveau secret de signature, affiché cette seule fois :"
    ),
    "The previous one still signs until {until}.": "L'ancien signe encore jusqu'au {until}.",
    "A new signing secret": "Un nouveau secret de signature",
    "Deliveries": "Envois",
    "Event": "Événement",
    "Attempts": "Tentatives",
    "Last answer": "Dernière réponse",
    "Send again": "Renvoyer",
    "Sent again.": "Renvoyé.",
    "delivery.pending": "en attente",
    "delivery.delivering": "en cours",
    "delivery.delivered": "remis",
    "delivery.failed": "échoué",
    "The adjustment is booked in {month}, with the month it corrects.": (
        "La régularisation est comptabilisée en {month}, avec le mois qu'elle corrige."
    ),
    "Correct the month": "Corriger le mois",
    "A closed month is corrected by an adjustment, booked in the open period.": (
        "Un mois clôturé se corrige par une régularisation, comptabilisée dans la période ouverte."
    ),
    "The merchant owes more": "Le commerçant doit davantage",
    "The merchant is owed": "Le commerçant doit recevoir",
    "Direction": "Sens",
    "Book the adjustment": "Comptabiliser la régularisation",
    "Files": "Fichiers",
    "Workbook": "Classeur",
    "statement of": "relevé de",
    "Bank details": "Coordonnées bancaires",
    "Whose": "De qui",
    "The association (collects the direct debits)": "L'association (encaisse les prélèvements)",
    "Account holder": "Titulaire du compte",
    "BIC (optional)": "BIC (facultatif)",
    "The association only": "L'association seulement",
    "SEPA creditor id": "Identifiant créancier SEPA (ICS)",
    "A merchant only": "Un commerçant seulement",
    "Direct-debit mandate": "Mandat de prélèvement",
    "Mandate signed on": "Mandat signé le",
    "The holder and the IBAN are needed.": "Le titulaire et l'IBAN sont nécessaires.",
    "Programme": "Programme",
    "Add a programme": "Ajouter un programme",
    "programme.cagnotte": "cagnotte (en euros)",
    "programme.points": "points",
    "programme.stamps": "tampons",
    "Rewards available from the visit": "Récompenses disponibles à partir du passage",
    "Points and stamps": "Points et tampons",
    "Points per euro (points)": "Points par euro (points)",
    "Points or stamps for a reward": "Points ou tampons pour une récompense",
    "The reward (€)": "La récompense (€)",
    "A count is a whole number; a reward, an amount such as 5,00.": (
        "Un nombre est entier ; une récompense, un montant comme 5,00."
    ),
    "Points and stamps need how many make a reward, and its amount.": (
        "Points et tampons demandent combien font une récompense, et son montant."
    ),
    "suspended": "suspendu",
    "deleted": "supprimé",
    "Older": "Plus anciennes",
    "Partners' statements": "Relevés des partenaires",
    # Why cards held a line (cards' domain/card_checks.py AnomalyKind).
    "why.clone": "carte clonée (même compteur, autre contenu)",
    "why.broken_chain": "soldes de la carte non enchaînés",
    "why.atc_gap": "compteur de la carte avec un trou",
    "why.reward_mismatch": "récompense différente de celle des règles",
    "why.bad_certificate": "certificat de la carte invalide",
    "why.unknown_key_version": "version de clé inconnue",
    "why.unknown_card": "carte inconnue du réseau",
    "why.card_of_another_association": "carte d'une autre association",
    "why.card_not_accepted": "carte non acceptée dans ce commerce",
    "why.card_blocked": "carte bloquée",
    "why.card_expired": "carte expirée",
    "why.card_dormant": "carte dormante",
    "why.occurred_in_future": "datée dans le futur",
    "why.occurred_too_long_ago": "datée de trop longtemps",
    "why.occurred_before_books_start": "datée avant le début des comptes",
}
# English where the key is not the English words.
EN: dict[str, str] = {
    "programme.cagnotte": "cagnotte (in euros)",
    "programme.points": "points",
    "programme.stamps": "stamps",
    "delivery.pending": "pending",
    "delivery.delivering": "delivering",
    "delivery.delivered": "delivered",
    "delivery.failed": "failed",
    "card.association": "the association's card",
    "card.generic": "generic card",
    "card.merchant": "a merchant's card",
    "card.gift": "gift card",
    "card.prepaid": "prepaid card",
    "card.epurse": "e-purse",
    "voucher.birthday": "birthday",
    "voucher.sponsorship": "sponsorship",
    "voucher.big_purchase": "big purchase",
    "voucher.lottery": "lottery",
    "voucher.other": "other",
    "settlement.ready": "ready",
    "settlement.no_bank_details": "bank details missing",
    "settlement.nothing_due": "nothing due",
    "why.clone": "a cloned card (same counter, other content)",
    "why.broken_chain": "the card's balances do not chain",
    "why.atc_gap": "a gap in the card's counter",
    "why.reward_mismatch": "a reward other than the rules'",
    "why.bad_certificate": "the card's certificate is wrong",
    "why.unknown_key_version": "an unknown key version",
    "why.unknown_card": "a card the network never issued",
    "why.card_of_another_association": "another association's card",
    "why.card_not_accepted": "a card this shop does not accept",
    "why.card_blocked": "a blocked card",
    "why.card_expired": "an expired card",
    "why.card_dormant": "a dormant card",
    "why.occurred_in_future": "dated in the future",
    "why.occurred_too_long_ago": "dated too long ago",
    "why.occurred_before_books_start": "dated before the books start",
}

# What a refusal says (the services' problem reasons), in English: FR gives the French.
_REASONS: dict[str, str] = {
    "period_not_over": "This month is not over: close it once it has ended.",
    "period_closed": "This month is closed already: correct it with an adjustment.",
    "before_books_start": "The books start after this month: there is nothing to close.",
    "close_range_too_long": "Too many months at once: close an earlier month first.",
    "unknown_card": "This card is unknown: the transaction cannot be booked; reject it.",
    "atc_already_booked": (
        "The card's counter is booked already (a clone's line): it cannot be booked; reject it."
    ),
    "unreadable_line": "The line cannot be read: it cannot be booked; reject it.",
    "unknown_line": "This transaction is not in the quarantine.",
    "not_https": "A webhook address starts with https://.",
    "private_address": "A webhook address points at a public host.",
    "bad_url": "This is not a web address.",
    "unknown_event_type": "An event is unknown.",
    "invalid_iban": "This IBAN is not valid: check it.",
    "invalid_bic": "This BIC is not valid: check it.",
    "invalid_mandate_id": "This mandate reference is not valid.",
    "invalid_creditor_id": "The association needs a valid SEPA creditor id.",
    "invalid_holder": "The holder's name is not valid.",
    "invalid_address": "An IBAN from outside the EEA needs the holder's postal address.",
}
FR.update(
    {
        "This month is not over: close it once it has ended.": (
            "Ce mois n'est pas terminé : clôturez-le une fois fini."
        ),
        "This month is closed already: correct it with an adjustment.": (
            "Ce mois est déjà clôturé : corrigez-le par une régularisation."
        ),
        "The books start after this month: there is nothing to close.": (
            "Les comptes commencent après ce mois : il n'y a rien à clôturer."
        ),
        "Too many months at once: close an earlier month first.": (
            "Trop de mois d'un coup : clôturez d'abord un mois plus ancien."
        ),
        "This card is unknown: the transaction cannot be booked; reject it.": (
            "Cette carte est inconnue : la transaction ne peut pas être comptabilisée ; rejetez-la."
        ),
        "The card's counter is booked already (a clone's line): it cannot be booked; reject it.": (
            "Le compteur de la carte est déjà comptabilisé (ligne d'un clone) : elle ne peut "
            "pas être comptabilisée ; rejetez-la."
        ),
        "The line cannot be read: it cannot be booked; reject it.": (
            "La ligne est illisible : elle ne peut pas être comptabilisée ; rejetez-la."
        ),
        "This transaction is not in the quarantine.": (
            "Cette transaction n'est pas en quarantaine."
        ),
        "A webhook address starts with https://.": "L'adresse d'un webhook commence par https://.",
        "A webhook address points at a public host.": (
            "L'adresse d'un webhook désigne un hôte public."
        ),
        "This is not a web address.": "Ce n'est pas une adresse web.",
        "An event is unknown.": "Un événement est inconnu.",
        "This IBAN is not valid: check it.": "Cet IBAN n'est pas valide : vérifiez-le.",
        "This BIC is not valid: check it.": "Ce BIC n'est pas valide : vérifiez-le.",
        "This mandate reference is not valid.": "Cette référence de mandat n'est pas valide.",
        "The association needs a valid SEPA creditor id.": (
            "L'association a besoin d'un identifiant créancier SEPA valide."
        ),
        "The holder's name is not valid.": "Le nom du titulaire n'est pas valide.",
        "An IBAN from outside the EEA needs the holder's postal address.": (
            "Un IBAN hors de l'EEE demande l'adresse postale du titulaire."
        ),
    }
)


# The association back office's refusals, else the desk's (unreachable, forbidden...).
refusal = desk_words.refusals(_REASONS, FR)


# Who closed or decided, bank details read back, card batches, in association_more_words.py.
FR.update(_MORE_FR)
EN.update(_MORE_EN)
_REASONS.update(_MORE_REASONS)
