"""The pages' words, French first, English beside (the key is the English)."""

from __future__ import annotations

from services.portal.entrypoints.association_words import EN as ASSOCIATION_EN
from services.portal.entrypoints.association_words import FR as ASSOCIATION_FR
from services.portal.entrypoints.dashboard_words import EN as DASHBOARD_EN
from services.portal.entrypoints.dashboard_words import FR as DASHBOARD_FR
from services.portal.entrypoints.desk_words import FR as DESK_FR
from services.portal.entrypoints.kiosk_words import FR as KIOSK_FR
from services.portal.entrypoints.manage_words import EN as MANAGE_EN
from services.portal.entrypoints.manage_words import FR as MANAGE_FR
from services.portal.entrypoints.space_words import FR as SPACE_FR

FR: dict[str, str] = {
    "Sign in": "Se connecter",
    "Sign out": "Se déconnecter",
    "E-mail": "Adresse e-mail",
    "Password": "Mot de passe",
    "Forgot your password?": "Mot de passe oublié ?",
    "Wrong e-mail or password.": "Adresse e-mail ou mot de passe incorrect.",
    "Too many attempts: try again in {n} minute(s).": (
        "Trop de tentatives : réessayez dans {n} minute(s)."
    ),
    "Receive a link to choose a new password.": (
        "Recevez un lien pour choisir un nouveau mot de passe."
    ),
    "Send the link": "Envoyer le lien",
    "If an account has this address, a link is on its way. It works once.": (
        "Si un compte a cette adresse, un lien vient de lui être envoyé. Il ne sert qu'une fois."
    ),
    "Choose your password": "Choisissez votre mot de passe",
    "New password": "Nouveau mot de passe",
    "The same again": "Le même, à nouveau",
    "At least {n} characters.": "Au moins {n} caractères.",
    "The two passwords differ.": "Les deux mots de passe diffèrent.",
    "Save the password": "Enregistrer le mot de passe",
    "This link is used or expired: ask for another.": (
        "Ce lien a déjà servi ou a expiré : demandez-en un autre."
    ),
    "Password saved. Sign in with it; other sessions were closed.": (
        "Mot de passe enregistré. Connectez-vous avec ; les autres sessions ont été fermées."
    ),
    "Cardholder space": "Espace porteur de carte",
    "E-mail or mobile number": "Adresse e-mail ou numéro de mobile",
    "Receive a code": "Recevoir un code",
    "Enter the code": "Saisir le code",
    "If a card of the network has this address, a code is on its way.": (
        "Si une carte du réseau a cette adresse, un code vient de lui être envoyé."
    ),
    "Code received": "Code reçu",
    "Wrong or expired code.": "Code incorrect ou expiré.",
    "This is neither an e-mail address nor a mobile number.": (
        "Ce n'est ni une adresse e-mail ni un numéro de mobile."
    ),
    "Signed in as": "Connecté en tant que",
    "Role": "Rôle",
    "Scope": "Périmètre",
    "operator": "opérateur du réseau",
    "association_admin": "administrateur d'association",
    "manager": "gérant (MANAGER)",
    "staff": "équipe du comptoir (CARD)",
    "cardholder": "porteur de carte",
    "Association": "Association",
    "Merchant": "Commerçant",
    "Account": "Compte",
    "The whole network": "Tout le réseau",
    "Your pages arrive here soon.": "Vos pages arrivent bientôt ici.",
    "The form has expired: try again.": "Le formulaire a expiré : recommencez.",
    "Not found": "Page introuvable",
    "Language": "Langue",
    "Back": "Retour",
}

FR.update(DESK_FR)  # the front desk's pages (desk_words.py)
FR.update(DASHBOARD_FR)  # the dashboard's (dashboard_words.py)
FR.update(SPACE_FR)  # the cardholder space's (space_words.py)
FR.update(MANAGE_FR)  # the merchant's back office (manage_words.py)
FR.update(KIOSK_FR)  # the kiosk's (kiosk_words.py)
FR.update(ASSOCIATION_FR)  # the association back office's (association_words.py)
# English where a key is not the English words (the dashboard's figures: ``fig.visits``).
EN: dict[str, str] = {**DASHBOARD_EN, **MANAGE_EN, **ASSOCIATION_EN}


def translate(key: str, language: str, **values: object) -> str:
    text = FR.get(key, key) if language == "fr" else EN.get(key, key)
    return text.format(**values) if values else text
