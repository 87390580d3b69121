"""Fixtures for recall: the region's names in every case form, in Russian, Ukrainian, Kazakh and
Kyrgyz, with the Latin spellings English texts use; and inflected pairs in English and Russian.

``measure`` stores one short page per case form (the name inside a sentence of its language) and
counts how many pages each query finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.db.connection import open_db
from pipeline.search.index import find, index_article


@dataclass(frozen=True)
class Name:
    language: str
    forms: tuple[str, ...]  # nominative first, then one form per case
    latin: tuple[str, ...] = ()  # the usual English spellings

    @property
    def nominative(self) -> str:
        return self.forms[0]


def _name(language: str, forms: str, latin: str = "") -> Name:
    return Name(language, tuple(forms.split()), tuple(latin.split()))


# Russian: nominative, genitive, dative, accusative, instrumental, prepositional.
RUSSIAN = [
    _name("ru", "Казахстан Казахстана Казахстану Казахстан Казахстаном Казахстане", "Kazakhstan"),
    _name("ru", "Кыргызстан Кыргызстана Кыргызстану Кыргызстан Кыргызстаном Кыргызстане",
          "Kyrgyzstan"),
    _name("ru", "Узбекистан Узбекистана Узбекистану Узбекистан Узбекистаном Узбекистане",
          "Uzbekistan"),
    _name("ru", "Таджикистан Таджикистана Таджикистану Таджикистан Таджикистаном Таджикистане",
          "Tajikistan"),
    _name("ru", "Туркменистан Туркменистана Туркменистану Туркменистан Туркменистаном "
          "Туркменистане", "Turkmenistan"),
    _name("ru", "Украина Украины Украине Украину Украиной Украине", "Ukraine"),
    _name("ru", "Россия России России Россию Россией России", "Russia"),
    _name("ru", "Астана Астаны Астане Астану Астаной Астане", "Astana"),
    _name("ru", "Бишкек Бишкека Бишкеку Бишкек Бишкеком Бишкеке", "Bishkek"),
    _name("ru", "Ташкент Ташкента Ташкенту Ташкент Ташкентом Ташкенте", "Tashkent"),
    _name("ru", "Душанбе Душанбе Душанбе Душанбе Душанбе Душанбе", "Dushanbe"),
    _name("ru", "Ашхабад Ашхабада Ашхабаду Ашхабад Ашхабадом Ашхабаде", "Ashgabat"),
    _name("ru", "Киев Киева Киеву Киев Киевом Киеве", "Kyiv Kiev"),
    _name("ru", "Харьков Харькова Харькову Харьков Харьковом Харькове", "Kharkiv Kharkov"),
    _name("ru", "Токаев Токаева Токаеву Токаева Токаевым Токаеве", "Tokayev Tokaev"),
    _name("ru", "Жапаров Жапарова Жапарову Жапарова Жапаровым Жапарове", "Japarov Zhaparov"),
    _name("ru", "Мирзиёев Мирзиёева Мирзиёеву Мирзиёева Мирзиёевым Мирзиёеве", "Mirziyoyev"),
    _name("ru", "Зеленский Зеленского Зеленскому Зеленского Зеленским Зеленском", "Zelensky"),
    _name("ru", "Путин Путина Путину Путина Путиным Путине", "Putin"),
]  # fmt: skip
# Ukrainian: nominative, genitive, dative, accusative, instrumental, locative, vocative.
UKRAINIAN = [
    _name("uk", "Казахстан Казахстану Казахстану Казахстан Казахстаном Казахстані Казахстане",
          "Kazakhstan"),
    _name("uk", "Киргизстан Киргизстану Киргизстану Киргизстан Киргизстаном Киргизстані "
          "Киргизстане", "Kyrgyzstan"),
    _name("uk", "Узбекистан Узбекистану Узбекистану Узбекистан Узбекистаном Узбекистані "
          "Узбекистане", "Uzbekistan"),
    _name("uk", "Таджикистан Таджикистану Таджикистану Таджикистан Таджикистаном Таджикистані "
          "Таджикистане", "Tajikistan"),
    _name("uk", "Туркменістан Туркменістану Туркменістану Туркменістан Туркменістаном "
          "Туркменістані Туркменістане", "Turkmenistan"),
    _name("uk", "Україна України Україні Україну Україною Україні Україно", "Ukraine"),
    _name("uk", "Росія Росії Росії Росію Росією Росії Росіє", "Russia"),
    _name("uk", "Астана Астани Астані Астану Астаною Астані Астано", "Astana"),
    _name("uk", "Бішкек Бішкека Бішкеку Бішкек Бішкеком Бішкеку Бішкеку", "Bishkek"),
    _name("uk", "Ташкент Ташкента Ташкенту Ташкент Ташкентом Ташкенті Ташкенте", "Tashkent"),
    _name("uk", "Душанбе Душанбе Душанбе Душанбе Душанбе Душанбе Душанбе", "Dushanbe"),
    _name("uk", "Ашгабат Ашгабата Ашгабату Ашгабат Ашгабатом Ашгабаті Ашгабате", "Ashgabat"),
    _name("uk", "Київ Києва Києву Київ Києвом Києві Києве", "Kyiv Kiev"),
    _name("uk", "Харків Харкова Харкову Харків Харковом Харкові Харкове", "Kharkiv Kharkov"),
    _name("uk", "Токаєв Токаєва Токаєву Токаєва Токаєвим Токаєві Токаєве", "Tokayev Tokaev"),
    _name("uk", "Жапаров Жапарова Жапарову Жапарова Жапаровим Жапарові Жапарове",
          "Japarov Zhaparov"),
    _name("uk", "Мірзійоєв Мірзійоєва Мірзійоєву Мірзійоєва Мірзійоєвим Мірзійоєві Мірзійоєве",
          "Mirziyoyev"),
    _name("uk", "Зеленський Зеленського Зеленському Зеленського Зеленським Зеленському "
          "Зеленський", "Zelensky"),
    _name("uk", "Путін Путіна Путіну Путіна Путіним Путіні Путіне", "Putin"),
]  # fmt: skip
# Kazakh: nominative, genitive, dative, accusative, locative, ablative, instrumental.
KAZAKH = [
    _name("kk", "Қазақстан Қазақстанның Қазақстанға Қазақстанды Қазақстанда Қазақстаннан "
          "Қазақстанмен"),
    _name("kk", "Астана Астананың Астанаға Астананы Астанада Астанадан Астанамен"),
    _name("kk", "Тоқаев Тоқаевтың Тоқаевқа Тоқаевты Тоқаевта Тоқаевтан Тоқаевпен"),
    _name("kk", "Алматы Алматының Алматыға Алматыны Алматыда Алматыдан Алматымен"),
]  # fmt: skip
# Kyrgyz: nominative, genitive, dative, accusative, locative, ablative.
KYRGYZ = [
    _name("ky", "Кыргызстан Кыргызстандын Кыргызстанга Кыргызстанды Кыргызстанда Кыргызстандан"),
    _name("ky", "Бишкек Бишкектин Бишкекке Бишкекти Бишкекте Бишкектен"),
    _name("ky", "Жапаров Жапаровдун Жапаровго Жапаровду Жапаровдо Жапаровдон"),
    _name("ky", "Ош Оштун Ошко Ошту Ошто Оштон"),
]  # fmt: skip
NAMES = RUSSIAN + UKRAINIAN + KAZAKH + KYRGYZ

SENTENCES = {
    "ru": "Новости дня: {} и другие события недели.",
    "uk": "Новини дня: {} та інші події тижня.",
    "kk": "Күннің жаңалықтары: {} және аптаның басқа оқиғалары.",
    "ky": "Күндүн жаңылыктары: {} жана жуманын башка окуялары.",
    "en": "News of the day: {} and other events of the week.",
}

# Inflected pairs, (query, word on the page), as they are written in news.
ENGLISH_PAIRS = [
    ("decide", "decided"), ("decide", "decides"), ("decide", "deciding"),
    ("increase", "increasing"), ("raise", "raised"), ("announce", "announcing"),
    ("escape", "escaped"), ("leave", "leaves"), ("mobilise", "mobilised"),
    ("mobilise", "mobilization"), ("mobilisation", "mobilized"), ("promote", "promoting"),
    ("promotes", "promoted"), ("colour", "colors"), ("labour", "labor"),
    ("organise", "organized"), ("analyse", "analyzed"), ("behaviour", "behavioral"),
    ("negotiate", "negotiating"), ("sanction", "sanctions"), ("attack", "attacked"),
    ("election", "elections"), ("party", "parties"), ("flee", "fled"), ("say", "said"),
]  # fmt: skip
RUSSIAN_PAIRS = [
    ("мобилизация", "мобилизации"), ("граница", "границе"), ("выборы", "выборах"),
    ("заявил", "заявила"), ("президент", "президентом"), ("встреча", "встречи"),
    ("переговоры", "переговорах"), ("армия", "армией"), ("беженцы", "беженцев"),
    ("санкции", "санкций"), ("война", "войны"), ("решение", "решения"), ("город", "городе"),
    ("страна", "стран"), ("закон", "законом"), ("человек", "люди"), ("идти", "шёл"),
    ("ребенок", "детей"), ("солдат", "солдатами"), ("пообещал", "пообещали"),
]  # fmt: skip


@dataclass
class Recall:
    found: int = 0
    total: int = 0
    missed: tuple[str, ...] = ()

    def add(self, hit: bool, label: str) -> None:
        self.total += 1
        self.found += hit
        if not hit:
            self.missed = (*self.missed, label)

    @property
    def share(self) -> float:
        return self.found / self.total if self.total else 0.0

    def __str__(self) -> str:
        return f"{self.found}/{self.total} ({100 * self.share:.0f}%)"


def measure(directory: Path) -> dict[str, Recall]:
    """Recall per category, on a database of one page per form made in ``directory``."""
    pages: list[tuple[str, str, str]] = []  # (key, language, word)
    for index, name in enumerate(NAMES):
        pages += [(f"name{index}", name.language, form) for form in name.forms]
    pages += [(f"en{i}", "en", word) for i, (_, word) in enumerate(ENGLISH_PAIRS)]
    pages += [(f"ru{i}", "ru", word) for i, (_, word) in enumerate(RUSSIAN_PAIRS)]
    results: dict[str, Recall] = {}
    with open_db(directory / "recall.db") as db:
        ids_of: dict[str, set[int]] = {}
        for article_id, (key, language, word) in enumerate(pages, start=1):
            text = SENTENCES[language].format(word)
            db.table("articles").insert(
                {
                    "id": article_id,
                    "url": f"https://example.org/{article_id}",
                    "title": "",
                    "text": text,
                    "language": language,
                    "status": "ok",
                    "first_seen_at": "2026-11-01T00:00:00Z",
                }
            )
            index_article(db, article_id, "", text, language)
            ids_of.setdefault(key, set()).add(article_id)

        def found(query: str) -> set[int]:
            return {row["id"] for row in find(db, query, limit=None, excerpts=False)}

        for index, name in enumerate(NAMES):
            wanted = ids_of[f"name{index}"]
            hits = found(name.nominative)
            category = results.setdefault(f"nominative, {name.language}", Recall())
            for article_id, form in zip(sorted(wanted), name.forms, strict=True):
                category.add(article_id in hits, f"{name.nominative} → {form}")
            for spelling in name.latin:
                hits = found(spelling)
                category = results.setdefault(f"Latin spelling, {name.language}", Recall())
                for article_id, form in zip(sorted(wanted), name.forms, strict=True):
                    category.add(article_id in hits, f"{spelling} → {form}")
        for prefix, pairs in (("en", ENGLISH_PAIRS), ("ru", RUSSIAN_PAIRS)):
            category = results.setdefault(f"inflected pairs, {prefix}", Recall())
            for i, (query, word) in enumerate(pairs):
                category.add(bool(ids_of[f"{prefix}{i}"] & found(query)), f"{query} → {word}")
    return results


def main() -> None:
    """Print the recall per category (``python -m tests.search.regional_names``)."""
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        for category, recall in measure(Path(directory)).items():
            print(f"{category}: {recall}")
            for missed in recall.missed:
                print(f"    missed {missed}")


if __name__ == "__main__":
    main()
