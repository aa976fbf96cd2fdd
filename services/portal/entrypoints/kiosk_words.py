"""The kiosk's words (F27), French first (the key is the English): the manager's set-up, the
kiosk's screen, the cardholder space's kiosk code."""

from __future__ import annotations

FR: dict[str, str] = {
    "Kiosk": "Borne",
    "Make this screen the shop's kiosk": "Faire de cet écran la borne du commerce",
    "Customers see their balance on it by presenting their card, or by typing a code from "
    "their cardholder space. It shows a first name, never more.": (
        "Les clients y voient leur solde en présentant leur carte, ou en tapant un code de "
        "leur espace porteur. Elle affiche un prénom, jamais plus."
    ),
    "Do this on the kiosk's own screen: you are then signed out of it, and its card reader's "
    "key is shown once.": (
        "Faites-le sur l'écran de la borne elle-même : vous en êtes ensuite déconnecté, et la "
        "clé de son lecteur de cartes s'affiche une seule fois."
    ),
    "Make this screen the kiosk": "Faire de cet écran la borne",
    "Your shop's kiosks": "Les bornes de votre commerce",
    "Set up on {date}": "Installée le {date}",
    "retired": "retirée",
    "Retire": "Retirer",
    "No kiosk yet.": "Pas encore de borne.",
    "This kiosk is not one of your shop's.": "Cette borne n'est pas de votre commerce.",
    "This screen is the shop's kiosk": "Cet écran est la borne du commerce",
    "The card reader's key": "La clé du lecteur de cartes",
    "Shown once: give it to the terminal program that reads the cards (python -m terminal "
    "kiosk --portal ADDRESS --key KEY).": (
        "Affichée une seule fois : donnez-la au programme du terminal qui lit les cartes "
        "(python -m terminal kiosk --portal ADRESSE --key CLÉ)."
    ),
    "You are signed out of this screen.": "Vous êtes déconnecté de cet écran.",
    "Open the kiosk": "Ouvrir la borne",
    "This screen is not a kiosk": "Cet écran n'est pas une borne",
    "The shop's manager sets it up: sign in on this screen, then open Kiosk.": (
        "Le gérant du commerce l'installe : connectez-vous sur cet écran, puis ouvrez Borne."
    ),
    "Your card's balance": "Le solde de votre carte",
    "Hello": "Bonjour",
    "Your cagnotte": "Votre cagnotte",
    "Offers now": "Les offres du moment",
    "No offer just now.": "Pas d'offre en ce moment.",
    "Done": "Terminé",
    "This screen clears itself in {n} seconds.": "Cet écran s'efface dans {n} secondes.",
    "Present your card to the reader.": "Présentez votre carte au lecteur.",
    "Or type the code your cardholder space shows": (
        "Ou tapez le code qu'affiche votre espace porteur"
    ),
    "Show my balance": "Voir mon solde",
    "The balance cannot be read just now: try again in a moment.": (
        "Le solde ne peut pas être lu pour le moment : réessayez dans un instant."
    ),
    "Your balance at the shop's kiosk": "Votre solde sur la borne du commerce",
    "A code for the kiosk": "Un code pour la borne",
    "Type it at the kiosk within {n} minutes. It works once.": (
        "Tapez-le sur la borne dans les {n} minutes. Il ne sert qu'une fois."
    ),
    "No card with you? Show a code, and type it at a kiosk of the network's shops.": (
        "Pas de carte sur vous ? Affichez un code, et tapez-le sur la borne d'un commerce du "
        "réseau."
    ),
    "Show a code": "Afficher un code",
    "Show another code": "Afficher un autre code",
}
