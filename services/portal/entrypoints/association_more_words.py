"""The association back office's words (French first; English where the key is not the
English words), continued from association_words.py: who closed a month or decided a held
line, bank details read back, the card batches made, a webhook form sent twice."""

from __future__ import annotations

# Who closed or decided (domain/association.py ``who``); bank details read back; the card
# batches made; a webhook form sent twice.
FR: dict[str, str] = {
    "actor.nobody": "—",
    "actor.you": "vous",
    "actor.person": "{name}",
    "actor.operator_person": "{name} (opérateur du réseau)",
    "actor.former": "une personne qui n'a plus d'accès",
    "actor.outsider": "une personne d'une autre association",
    "actor.service": "le service {name} (automatique)",
    "actor.operator": "l'opérateur du réseau (jeton d'installation)",
    "actor.api_token": "un jeton d'API (une machine)",
    "actor.kiosk": "une borne",
    "actor.holder": "le titulaire de la carte",
    "actor.machine": "un traitement automatique",
    "The association": "L'association",
    "The settlement's SEPA files use the bank details set here at the close. They are "
    "checked and kept by the clearing service; the IBAN is never shown whole again.": (
        "Les fichiers SEPA du règlement utilisent les coordonnées bancaires saisies ici au "
        "moment de la clôture. Elles sont vérifiées et conservées par le service de "
        "compensation ; l'IBAN n'est plus jamais affiché en entier."
    ),
    "What is set": "Ce qui est enregistré",
    "Set bank details": "Saisir des coordonnées bancaires",
    "Mandate or creditor id": "Mandat ou identifiant créancier",
    "ending in": "se terminant par",
    "signed on": "signé le",
    "Not set": "Non renseignées",
    "Card batches made": "Lots de cartes déjà faits",
    "Made on": "Fait le",
    "Cards": "Cartes",
    "Numbers": "Numéros",
    "File": "Fichier",
    "CSV": "CSV",
    "Download the printer file of the batch made on {day}": (
        "Télécharger le fichier imprimeur du lot fait le {day}"
    ),
    "No card batch yet.": "Aucun lot de cartes pour l'instant.",
    "Subscribed already. Its secret was replaced since: make a new one on its page.": (
        "Déjà abonné. Son secret a été remplacé depuis : créez-en un nouveau sur sa page."
    ),
    "This form made another subscription already: reload the page.": (
        "Ce formulaire a déjà créé un autre abonnement : rechargez la page."
    ),
    "This subscription was deleted: reload the page.": (
        "Cet abonnement a été supprimé : rechargez la page."
    ),
}
EN: dict[str, str] = {
    "actor.nobody": "—",
    "actor.you": "you",
    "actor.person": "{name}",
    "actor.operator_person": "{name} (the network's operator)",
    "actor.former": "a person who no longer has access",
    "actor.outsider": "a person of another association",
    "actor.service": "the {name} service (automatic)",
    "actor.operator": "the network's operator (set-up token)",
    "actor.api_token": "an API token (a machine)",
    "actor.kiosk": "a kiosk",
    "actor.holder": "the cardholder",
    "actor.machine": "an automatic process",
}
REASONS: dict[str, str] = {
    "subscription_id_taken": "This form made another subscription already: reload the page.",
    "deleted": "This subscription was deleted: reload the page.",
}
