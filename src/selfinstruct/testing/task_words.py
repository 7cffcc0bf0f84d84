"""The stub's vocabulary: task templates and the words that fill their slots, English and Chinese.

Kept apart from the code that draws from them (task_lists.py), so either reads on its own.
"""

# ruff: noqa: E501  (one line per slot reads best, as in a word list)

from __future__ import annotations

EN_TEMPLATES = (
    "Write a {form} about {topic} for {audience}.",
    "Explain {concept} to {audience} using {device}.",
    "Classify each of the following {items} as {labels}.",
    "Rewrite the paragraph below so that it sounds {tone} without changing its meaning.",
    "Summarize the strongest arguments for and against {issue} in {count} bullet points.",
    "Give {count} practical tips for {activity} when {situation}.",
    "Extract every {entity} mentioned in the following {doc} and list them alphabetically.",
    "Solve step by step: {math}",
    "Write a {lang} function that {code}.",
    "Plan a {duration} {plan} for {audience} who {constraint}.",
    "Compare {thing} and {other} in terms of {aspect}.",
    "Suggest {count} names for a {business} that {feature}.",
    "Is the following statement true or false? {claim}",
    "Create a {count}-question quiz about {topic} with answers at the end.",
    "Describe how {process} works, as if talking to {audience}.",
    "List {count} common mistakes people make when {activity}, and how to avoid each.",
    "Draft a {tone} email to {recipient} about {matter}.",
    "What are the pros and cons of {choice} for {audience}?",
    "Turn these notes about {topic} into a {form} of no more than {words} words.",
    "Decide whether this customer review of {product} is positive, negative or mixed.",
    "Find the logical flaw in this argument about {issue} and explain it briefly.",
    "Recommend {count} {media} for someone who enjoys {topic}, with one reason for each.",
    "Estimate how long {activity} takes for a beginner, and explain your assumptions.",
    "Generate a {tone} slogan for a campaign promoting {issue}.",
    "Outline a {duration} study plan to learn {concept} from scratch.",
)
EN_SLOTS: dict[str, tuple[str, ...]] = {
    "form": (
        "short poem", "limerick", "haiku sequence", "news brief", "product description",
        "bedtime story", "cover letter", "toast", "eulogy", "dialogue", "riddle", "sonnet",
        "movie pitch", "diary entry", "press release", "recipe card", "travel blurb",
        "job advert", "thank-you note", "podcast intro",
    ),
    "topic": (
        "tidal pools", "medieval castles", "solar panels", "sourdough baking", "honeybees",
        "the stock market", "black holes", "urban cycling", "coral reefs", "jazz history",
        "volcanic islands", "public libraries", "vaccines", "chess openings", "rainforests",
        "electric cars", "ancient Rome", "houseplants", "the water cycle", "cryptography",
        "night trains", "origami", "deep-sea fish", "mountain rescue", "street food",
        "wind turbines", "the printing press", "sleep hygiene", "lighthouses", "recycling",
        "migratory birds", "board games", "glaciers", "minimalism", "the Silk Road",
        "community gardens", "submarines", "desert survival", "tea ceremonies", "comets",
    ),
    "audience": (
        "a ten-year-old", "first-year nursing students", "retired engineers", "new managers",
        "a skeptical grandparent", "high-school chemistry teachers", "small business owners",
        "non-native speakers", "busy parents", "software interns", "museum visitors",
        "amateur astronomers", "marathon beginners", "city council members", "exchange students",
    ),
    "concept": (
        "compound interest", "natural selection", "recursion", "inflation", "photosynthesis",
        "supply and demand", "the placebo effect", "entropy", "opportunity cost", "plate tectonics",
        "herd immunity", "public-key encryption", "the greenhouse effect", "Bayes' theorem",
        "machine translation", "game theory", "the scientific method", "circadian rhythms",
    ),
    "device": (
        "a cooking analogy", "a sports metaphor", "three everyday examples", "a short story",
        "a step-by-step walkthrough", "a comparison with traffic", "a single diagram described in words",
        "questions and answers", "a historical anecdote",
    ),
    "items": (
        "animals", "foods", "programming languages", "musical instruments", "cities",
        "sentences", "headlines", "job titles", "chemical elements", "sports",
    ),
    "labels": (
        "mammal, bird or reptile", "sweet or savory", "compiled or interpreted",
        "string, wind or percussion", "coastal or inland", "fact or opinion",
        "clickbait or informative", "technical or creative", "metal or non-metal",
        "team or individual",
    ),
    "tone": (
        "more formal", "friendlier", "more persuasive", "less technical", "more concise",
        "apologetic", "enthusiastic", "neutral and factual", "humorous", "reassuring",
    ),
    "issue": (
        "a four-day work week", "school uniforms", "nuclear power", "remote learning",
        "banning single-use plastics", "universal basic income", "daylight saving time",
        "self-driving taxis", "homework for young children", "a sugar tax",
    ),
    "count": ("three", "four", "five", "six", "seven", "ten"),
    "activity": (
        "moving to a new city", "training a puppy", "writing a thesis", "negotiating a salary",
        "learning to swim as an adult", "planning a wedding", "starting a vegetable garden",
        "giving a conference talk", "saving for retirement", "cooking for a crowd",
        "hiking in the rain", "preparing for a job interview",
    ),
    "situation": (
        "money is tight", "time is short", "the weather is bad", "you work night shifts",
        "you live in a small flat", "nobody else helps", "you are traveling abroad",
    ),
    "entity": (
        "person name", "date", "company", "city", "price", "email address", "drug name",
        "programming library",
    ),
    "doc": (
        "news article", "meeting transcript", "contract clause", "product review",
        "research abstract", "customer complaint", "police report",
    ),
    "math": (
        "a train leaves at 3:40 pm and travels 210 km at 84 km/h; when does it arrive?",
        "what is 17% of 2,340?",
        "if 5 pencils cost $2.35, how much do 12 cost?",
        "find x when 3x - 7 = 2x + 11.",
        "a rectangle has a perimeter of 46 cm and a width of 8 cm; what is its area?",
        "how many seconds are there in a leap year?",
        "split a $96 bill among 3 people when one of them pays double.",
        "what is the average of 14, 29, 31 and 46?",
    ),
    "lang": ("Python", "JavaScript", "Rust", "Go", "SQL", "Bash", "Java", "Haskell"),
    "code": (
        "reverses the words in a sentence", "checks whether a string is a palindrome",
        "merges two sorted lists", "counts the vowels in a text",
        "returns the n-th Fibonacci number", "removes duplicate rows from a table",
        "converts Celsius to Fahrenheit", "validates an email address",
        "finds the longest common prefix of a list of strings", "parses a date in ISO format",
    ),
    "duration": ("one-week", "weekend", "three-day", "month-long", "two-hour", "ten-day"),
    "plan": (
        "meal plan", "workout routine", "reading schedule", "budget", "itinerary",
        "onboarding program", "revision timetable",
    ),
    "constraint": (
        "are vegetarian", "have a bad knee", "only have evenings free", "speak no French",
        "travel with a toddler", "have never done this before", "work from home",
    ),
    "thing": (
        "tea", "trains", "paper books", "cats", "renting", "email", "solar power", "jogging",
        "public schools", "open-source software",
    ),
    "other": (
        "coffee", "planes", "e-readers", "dogs", "buying a home", "instant messaging",
        "wind power", "swimming", "private schools", "proprietary software",
    ),
    "aspect": (
        "cost", "environmental impact", "health effects", "convenience", "long-term value",
        "safety", "learning curve",
    ),
    "business": (
        "bakery", "bike repair shop", "language school", "pet hotel", "coworking space",
        "vegan food truck", "bookshop café", "tutoring startup",
    ),
    "feature": (
        "opens only at night", "is run by students", "uses no plastic", "serves dishes from Peru",
        "is on a boat", "donates its profits",
    ),
    "claim": (
        "Lightning never strikes the same place twice.", "Bats are blind.",
        "The Great Wall of China is visible from the Moon with the naked eye.",
        "Water boils at a lower temperature on a mountain.", "Goldfish have a three-second memory.",
        "Humans use only ten percent of their brains.", "Venus is hotter than Mercury.",
    ),
    "process": (
        "a bill becomes a law", "a vaccine trains the immune system", "a search engine ranks pages",
        "bread rises", "a credit score is calculated", "a refrigerator keeps food cold",
        "an airplane stays in the air", "a blockchain records transactions",
    ),
    "recipient": (
        "a landlord", "a professor", "a new client", "the school principal", "a former colleague",
        "the city council", "a hotel manager",
    ),
    "matter": (
        "a broken heater", "a missed deadline", "a refund request", "a project delay",
        "a noise complaint", "a speaking invitation", "a schedule change",
    ),
    "choice": (
        "working from home", "buying an electric scooter", "learning Latin", "homeschooling",
        "adopting a rescue dog", "taking a gap year", "going freelance",
    ),
    "words": ("50", "80", "100", "150", "200"),
    "product": (
        "a blender", "noise-cancelling headphones", "a budget hotel", "a running shoe",
        "a language app", "an electric kettle",
    ),
    "media": ("novels", "documentaries", "podcasts", "board games", "films", "albums"),
}  # fmt: skip
EN_EXTRAS = (
    "",
    "",
    "",
    "",
    " Keep it under 120 words.",
    " Use a friendly tone.",
    " Include one surprising fact.",
    " Avoid jargon.",
    " Number each step.",
    " End with a question for the reader.",
)
EN_BAIT = (
    "Sort it.",
    "Fix this.",
    "Describe the image below in detail.",
    "Look at the picture and say what is wrong with it.",
    "Draw a map of {topic}.",
    "Write a program that {code}.",
    "- {concept} in one word?",
)
ZH_TEMPLATES = (
    "为{audience}写一篇关于{topic}的{form}。",
    "用{device}向{audience}解释{concept}。",
    "列出{count}条关于{activity}的实用建议。",
    "比较{thing}和{other}在{aspect}方面的区别。",
    "把下面这段话改写得{tone}，但不要改变原意。",
    "总结支持和反对{issue}的主要理由，各写{count}条。",
    "判断下面这句话是事实还是观点，并说明理由：{claim}",
    "制定一个{duration}的{plan}，适合{audience}。",
)
ZH_SLOTS: dict[str, tuple[str, ...]] = {
    "audience": ("小学生", "退休教师", "新入职的员工", "外国留学生", "忙碌的父母", "大学新生", "社区志愿者"),
    "topic": ("潮汐", "长城", "太阳能", "面包发酵", "蜜蜂", "股市", "黑洞", "城市骑行", "珊瑚礁", "茶文化", "火山", "图书馆"),
    "form": ("短诗", "新闻稿", "产品介绍", "睡前故事", "演讲稿", "日记", "对话"),
    "device": ("生活中的例子", "做饭的比喻", "一个小故事", "问答的形式", "分步骤的说明"),
    "concept": ("复利", "自然选择", "递归", "通货膨胀", "光合作用", "供求关系", "安慰剂效应", "机会成本"),
    "count": ("三", "四", "五", "六"),
    "activity": ("搬家", "训练小狗", "写毕业论文", "谈工资", "成年后学游泳", "种菜", "准备面试"),
    "thing": ("茶", "火车", "纸质书", "猫", "租房"),
    "other": ("咖啡", "飞机", "电子书", "狗", "买房"),
    "aspect": ("成本", "环境影响", "健康", "便利程度", "安全性"),
    "tone": ("更正式", "更亲切", "更有说服力", "更简洁", "更幽默"),
    "issue": ("四天工作制", "校服", "核电", "网课", "禁止一次性塑料", "夏令时"),
    "claim": ("蝙蝠是瞎的。", "金鱼只有三秒的记忆。", "水在高山上沸点更低。", "人只用了大脑的百分之十。"),
    "duration": ("一周", "三天", "一个月", "周末"),
    "plan": ("饮食计划", "健身计划", "阅读计划", "旅行行程", "复习计划"),
}  # fmt: skip
ZH_BAIT = ("改一下。", "描述下面这张图片的内容。", "画一张{topic}的地图。")

FRAMES = (
    "Write a {form} about {topic}", "Explain {concept}", "Summarize the history of {topic}",
    "Compare {thing} and {other}", "List {count} facts about {topic}", "Plan a {duration} {plan}",
    "Draft a {tone} email to {recipient}", "Suggest {count} names for a {business}",
    "Describe how {process} works", "Give {count} tips for {activity}",
    "Classify these {items} as {labels}", "Recommend {count} {media} about {topic}",
    "Estimate the cost of {choice}", "Argue for {issue}", "Argue against {issue}",
    "Create a quiz on {concept}", "Review {product}", "Outline a talk on {topic}",
)  # fmt: skip
QUALIFIERS = (
    "for {audience}", "set in {name}", "in {count} sentences", "using {device}",
    "mentioning {name} and {name}", "for the {name} newsletter", "as {name} would",
    "without mentioning {thing}", "in under {words} words", "with a nod to {topic}",
)  # fmt: skip
NAMED_SLOTS = frozenset(
    ("topic", "audience", "concept", "thing", "other", "business", "recipient", "product",
     "issue", "activity", "choice", "process", "items")
)  # fmt: skip
SYLLABLES = (
    "ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "da", "zu", "fi", "go", "la", "ber",
    "tan", "wen", "dor", "mar", "sel", "vin", "cor", "ash", "el", "ho", "quin", "ru", "sa",
)  # fmt: skip
