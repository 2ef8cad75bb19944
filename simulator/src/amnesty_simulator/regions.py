"""Where cases are registered: weights by oblast, highest in Donetsk, Dnipropetrovsk and Zhytomyr.

Plausible, not published: the front-line and training-ground oblasts register most absences; occupied
Crimea and Sevastopol register none.
"""

from __future__ import annotations

REGION_WEIGHTS: dict[str, float] = {
    "UA-14": 12.0,  # Donetsk
    "UA-12": 11.0,  # Dnipropetrovsk
    "UA-18": 9.0,  # Zhytomyr
    "UA-63": 7.0,  # Kharkiv
    "UA-23": 6.0,  # Zaporizhzhia
    "UA-48": 5.0,  # Mykolaiv
    "UA-51": 5.0,  # Odesa
    "UA-46": 5.0,  # Lviv
    "UA-30": 5.0,  # Kyiv city
    "UA-32": 4.0,  # Kyiv oblast
    "UA-59": 3.0,  # Sumy
    "UA-74": 3.0,  # Chernihiv
    "UA-05": 3.0,  # Vinnytsia
    "UA-53": 3.0,  # Poltava
    "UA-65": 2.0,  # Kherson
    "UA-71": 2.0,  # Cherkasy
    "UA-35": 2.0,  # Kirovohrad
    "UA-68": 2.0,  # Khmelnytskyi
    "UA-56": 2.0,  # Rivne
    "UA-07": 2.0,  # Volyn
    "UA-21": 2.0,  # Zakarpattia
    "UA-26": 2.0,  # Ivano-Frankivsk
    "UA-61": 2.0,  # Ternopil
    "UA-77": 1.0,  # Chernivtsi
    "UA-09": 1.0,  # Luhansk
}
