"""Stop words for BM25 keyword search in Kazakh, Russian and English.

Only function words: pronouns, conjunctions, particles, postpositions, auxiliary and copular
verbs, and the commonest question words. They occur in almost every passage, so they add noise
to BM25 scores without telling passages apart. Content words, numerals and words that change
the meaning of a legal question ("право", "закон", "нельзя", "заң", "law") are left out.

- ``kk`` is written from Kazakh grammar: personal and demonstrative pronouns with their common
  case forms, conjunctions, question particles (ма/ме/ба/бе/па/пе), postpositions, the
  auxiliaries бол-, е- (еді, екен, емес), де- (деп, деген) and ет- in common forms.
- ``ru`` and ``en`` follow the Snowball stop-word lists (as shipped with NLTK), without their
  numerals and evaluative words (один, два, три, хорошо, лучше, нельзя, больше). Russian adds
  the remaining forms of the pronouns Snowball lists and the copula являться. English keeps
  only apostrophe-free entries plus the pieces ``\\w+`` splits contractions into (don, t, ll…).

Lookup happens after lowercasing and folding ё to е, so every word here is written with е.
"""

from __future__ import annotations

_KAZAKH = """
мен сен ол біз сіз олар сендер сіздер менің сенің оның біздің сіздің олардың
маған саған оған бізге сізге оларға мені сені оны бізді сізді оларды
менде сенде онда бізде сізде оларда менен сенен одан бізден сізден олардан
онымен олармен өз өзі өзім өзің өзіміз өзіңіз өздері өзінің өзін өзіне өзінде өзінен
өзара
бұл осы сол мына мынау анау осындай сондай мұндай сонымен осымен бұның осының соның
мұны осыны соны бұған осыған соған мұнда осында сонда бұдан осыдан содан
бұлар осылар солар олай солай осылай бұлай сөйтіп
барлық барша бүкіл бәрі бәріміз әр әрбір кейбір кей біреу бірнеше ешкім ештеңе ешбір
бір
және бен пен да де та те әрі не немесе яки я бірақ алайда дегенмен әйтсе әйтпесе
өйткені себебі сондықтан себепті егер яғни ал тек ғана қана ғой тіпті
әлде ия иә
ма ме ба бе па пе ше шы
үшін туралы жөнінде бойынша арқылы дейін шейін кейін соң бері бұрын сияқты секілді
қарай гөрі қарағанда бірге сайын ретінде кезінде
бар жоқ емес екен екені екенін екендігі еді едік едім
бол болу болып болады болды болған болса болмаса болмайды болатын болуы болуға болғандықтан
деп деген дейді деді дегенде дегеніміз дегенімізде дейтін
етеді етіп ету етуге етті еткен ететін етілген етіледі
неге неліктен несі нені неден немен қандай қай қайсы қайсысы қашан кім кімнің кімге
кімді кімнен неше нешінші қанша қалай қайда қайдан қайдағы
"""

# Snowball's Russian list (ё written as е) without numerals and evaluative words, plus forms.
_RUSSIAN = """
и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по только
ее мне было вот от меня еще нет о из ему теперь когда даже ну вдруг ли если уже или ни
быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей может они тут где
есть надо ней для мы тебя их чем была сам чтоб без будто чего раз тоже себе под будет ж
тогда кто этот того потому этого какой совсем ним здесь этом почти мой тем чтобы нее
сейчас были куда зачем всех никогда можно при наконец об другой хоть после над через эти
нас про всего них какая много разве эту моя впрочем свою этой перед иногда чуть том такой
им более всегда конечно всю между
оно это эта этих этим этими тот та те тех теми тому
который которая которое которые которого которой которых котором которым которыми
весь вся всем всеми всему свой своя свое свои своего своей своих
мое мои моего моей моих твой твоя твое твои наш наша наше наши ваш ваша ваше ваши
мною тобой нами вами ими нею ею
будут буду будем будете будешь также либо является являются являлся являлась
"""

# Snowball's English list without contractions, plus the pieces "\w+" cuts contractions into.
_ENGLISH = """
i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
she her hers herself it its itself they them their theirs themselves what which who whom
this that these those am is are was were be been being have has had having do does did
doing a an the and but if or because as until while of at by for with about against between
into through during before after above below to from up down in out on off over under again
further then once here there when where why how all any both each few more most other some
such no nor not only own same so than too very can will just should now
s t d ll m re ve don doesn didn isn aren wasn weren hasn haven hadn won wouldn shouldn couldn
mustn needn shan mightn
"""

STOPWORDS: dict[str, frozenset[str]] = {
    "kk": frozenset(_KAZAKH.split()),
    "ru": frozenset(_RUSSIAN.split()),
    "en": frozenset(_ENGLISH.split()),
}
