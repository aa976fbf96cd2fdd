"""The dashboard's words (words.py merges them): French first; the figures', charts' and
exports' names have dotted keys (``fig.visits``), so they have English words too (EN)."""

from __future__ import annotations

from services.portal.entrypoints import desk_words

# (key, English, French): the names of things, which the key alone does not say.
_NAMES: tuple[tuple[str, str, str], ...] = (
    ("fig.revenue_cents", "Revenue", "Chiffre d'affaires"),
    ("fig.visits", "Visits", "Passages"),
    ("fig.average_basket_cents", "Average basket", "Panier moyen"),
    ("fig.member_share_bps", "Members' share of the revenue", "Part des adhérents dans le CA"),
    (
        "fig.members",
        "Members (at the end; before: at the start)",
        "Adhérents (à la fin ; avant : au début)",
    ),
    ("fig.sales", "Sales", "Ventes"),
    ("fig.anonymous_sales", "Sales without a member", "Ventes sans carte"),
    ("fig.member_revenue_cents", "Members' revenue", "CA des adhérents"),
    ("fig.anonymous_revenue_cents", "Revenue without a member", "CA sans carte"),
    ("fig.returns", "Returns", "Retours"),
    ("fig.returned_cents", "Amount returned", "Montant retourné"),
    ("fig.customers", "Customers who came", "Clients venus"),
    ("fig.visits_per_customer", "Visits per customer", "Passages par client"),
    ("fig.enrolments", "Enrolments", "Inscriptions"),
    ("fig.rewards_granted_cents", "Rewards granted", "Récompenses accordées"),
    ("fig.redemptions", "Redemptions", "Utilisations de la cagnotte"),
    ("fig.rewards_spent_cents", "Rewards spent", "Récompenses dépensées"),
    ("fig.inactive_customers", "Inactive customers (now)", "Clients inactifs (à présent)"),
    ("fig.newcomers", "Newcomers sponsored", "Filleuls parrainés"),
    ("fig.sponsor_rewards", "Sponsors' rewards", "Récompenses des parrains"),
    ("fig.sponsor_rewards_cents", "Sponsors' rewards, amount", "Récompenses des parrains, montant"),
    (
        "fig.sponsor_rewards_capped",
        "Sponsors' rewards past the cap",
        "Récompenses des parrains plafonnées",
    ),
    ("fig.newcomer_rewards", "Newcomers' rewards", "Récompenses des filleuls"),
    (
        "fig.newcomer_rewards_cents",
        "Newcomers' rewards, amount",
        "Récompenses des filleuls, montant",
    ),
    ("fig.rewards_cents", "Sponsorship rewards, total", "Récompenses de parrainage, total"),
    ("fig.sponsored_customers", "Sponsored customers who came", "Clients parrainés venus"),
    ("fig.sponsored_visits", "Their visits", "Leurs passages"),
    ("fig.sponsored_revenue_cents", "Their spending", "Leurs achats"),
    ("chart.traffic_by_hour", "Sales by hour of the day", "Ventes par heure de la journée"),
    (
        "chart.traffic_by_hour.desc",
        "Bars: the period's sales in each hour, Paris time, 0 to 23.",
        "Barres : les ventes de la période à chaque heure, heure de Paris, de 0 à 23.",
    ),
    ("chart.traffic_by_hour.label", "Hour", "Heure"),
    ("chart.traffic_by_weekday", "Sales by weekday", "Ventes par jour de la semaine"),
    (
        "chart.traffic_by_weekday.desc",
        "Bars: the period's sales on each weekday, Monday first.",
        "Barres : les ventes de la période chaque jour de la semaine, lundi en premier.",
    ),
    ("chart.traffic_by_weekday.label", "Day", "Jour"),
    (
        "chart.against_previous",
        "This period against the previous one",
        "Cette période comparée à la précédente",
    ),
    (
        "chart.against_previous.desc",
        "Paired bars per weekday: the period's sales (green), the previous period's (brown).",
        "Barres par paires, par jour : les ventes de la période (vert), de la précédente (brun).",
    ),
    ("chart.against_previous.label", "Day", "Jour"),
    ("chart.enrolments_over_time", "Enrolments over time", "Inscriptions dans le temps"),
    (
        "chart.enrolments_over_time.desc",
        "A line: the accounts opened per day (per month beyond 92 days).",
        "Une ligne : les comptes ouverts par jour (par mois au-delà de 92 jours).",
    ),
    ("chart.enrolments_over_time.label", "From", "À partir du"),
    ("preset.this_month", "This month", "Ce mois-ci"),
    ("preset.last_month", "Last month", "Le mois dernier"),
    ("preset.last_30_days", "The last 30 days", "Les 30 derniers jours"),
    ("preset.this_year", "This year", "Cette année"),
    ("channel.email", "E-mail", "E-mail"),
    ("channel.sms", "SMS", "SMS"),
    ("channel.post", "Post", "Courrier"),
    ("export.sales", "Sales, returns and cancellations", "Ventes, retours et annulations"),
    (
        "export.rewards",
        "Rewards granted, taken back, spent",
        "Récompenses accordées, reprises, dépensées",
    ),
    ("export.customers", "Customers who came", "Clients venus"),
    ("export.inactive", "Inactive customers", "Clients inactifs"),
    ("export.enrolments", "Enrolments", "Inscriptions"),
    ("export.consents", "Consents in force", "Consentements en vigueur"),
    ("export.sponsorship", "Sponsorship links and rewards", "Parrainages et leurs récompenses"),
    ("export.sponsored", "Sponsored customers", "Clients parrainés"),
)
EN: dict[str, str] = {key: en for key, en, _ in _NAMES}

FR: dict[str, str] = {key: fr for key, _, fr in _NAMES} | {
    "Dashboard": "Tableau de bord",
    "Network statistics": "Statistiques du réseau",
    "Period": "Période",
    "From": "Du",
    "To": "Au",
    "Whose figures": "Les chiffres de",
    "The whole association": "Toute l'association",
    "Show": "Afficher",
    "From {a} to {b} ({n} days), against {c} to {d}.": (
        "Du {a} au {b} ({n} jours), comparé au {c} – {d}."
    ),
    "Figures": "Chiffres",
    "Figure": "Chiffre",
    "This period": "Cette période",
    "Previous period": "Période précédente",
    "Change": "Évolution",
    "up": "en hausse",
    "down": "en baisse",
    "same": "stable",
    "unknown": "inconnue",
    "Charts": "Graphiques",
    "Nothing in this period.": "Rien sur cette période.",
    "The data as a table": "Les données en tableau",
    "Sales": "Ventes",
    "Enrolments": "Inscriptions",
    "Mon": "lun.",
    "Tue": "mar.",
    "Wed": "mer.",
    "Thu": "jeu.",
    "Fri": "ven.",
    "Sat": "sam.",
    "Sun": "dim.",
    "Consents in force, per channel": "Consentements en vigueur, par canal",
    "Channel": "Canal",
    "Consents": "Consentements",
    "Customers by visits": "Clients par nombre de passages",
    "Visits in the period": "Passages sur la période",
    "Customers": "Clients",
    "Best customers": "Meilleurs clients",
    "Spent": "Dépensé",
    "Sponsorship": "Parrainage",
    "Downloads": "Téléchargements",
    "Each figure's detail lines over the period, for a spreadsheet.": (
        "Le détail de chaque chiffre sur la période, pour un tableur."
    ),
    "A date is not a date: for example 2031-06-30.": (
        "Une date n'en est pas une : par exemple 2031-06-30."
    ),
    "The period ends before it starts.": "La période finit avant de commencer.",
    "The period is too long: four years at most.": (
        "La période est trop longue : quatre ans au plus."
    ),
    "Too many lines for one file: choose a shorter period.": (
        "Trop de lignes pour un fichier : choisissez une période plus courte."
    ),
}

_REASONS = {
    "invalid_date": "A date is not a date: for example 2031-06-30.",
    "invalid_query": "A date is not a date: for example 2031-06-30.",
    "invalid_range": "The period ends before it starts.",
    "range_too_long": "The period is too long: four years at most.",
    "export_too_large": "Too many lines for one file: choose a shorter period.",
}


# The dashboard's refusals (a period, an export), else the desk's (scope, services).
refusal = desk_words.refusals(_REASONS, FR)
