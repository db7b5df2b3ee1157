"""Money amounts in a conversation ("3999买的", "三千多的相机", "¥1,299", "5000多的包", "订单金额:1299.00",
"电视2699") and in the order context the console sends, for rules that depend on an order's value."""

from __future__ import annotations

import re
from collections.abc import Mapping

from scripts_library.text import chinese_number

_DIGITS = r"\d[\d,]*(?:\.\d+)?"
_CURRENCY_BEFORE = re.compile(rf"[¥￥]\s*({_DIGITS})")
_CURRENCY_AFTER = re.compile(rf"({_DIGITS})\s*(万|千|k|w)?\s*多?\s*(?:元|块|rmb|圆)", re.IGNORECASE)
_BOUGHT_FOR = re.compile(  # 899的, 1.2w的, 2999那个单
    rf"(?<![\d.])({_DIGITS})\s*(万|千|w|k)?\s*多?\s*(?:买的|的|那个?单)", re.IGNORECASE
)
_CHINESE = re.compile(r"([零一二两三四五六七八九十百千万]+)\s*(?:多|整|出头|左右)?\s*(?:元|块|买的|的)")  # 五百整的
_CHINESE_ROUND = re.compile(  # 四千多啊, 两千左右
    r"([一二两三四五六七八九十]+[千万])(?:多|出头|左右)(?!\s*(?:元|块|买的|的))"
)
_NEARLY = re.compile(r"小([一二两三四五六七八九十]+[千万])(?![多出左元块的])")  # 小三千: nearly three thousand
_NUMERAL = "零一二两三四五六七八九十百千万"
_CHINESE_PRICE = re.compile(
    rf"(?<![{_NUMERAL}])([一二两三四五六七八九][百千万][一二三四五六七八九])(?![{_NUMERAL}])"
)  # 五千八, 八百六
_DIGIT_ROUND = re.compile(r"(?<![\d.])(\d+)\s*([千万kw])\s*(\d)?(?:多|出头)?(?![\d.元块])", re.IGNORECASE)  # 2千多
_ROUGH = re.compile(r"([大小]?)几(千|万)")  # 大几千的单子, 小几千, 几万块
_ROUGH_VALUE = {
    ("", "千"): 2_000,
    ("大", "千"): 5_000,
    ("小", "千"): 1_000,
    ("", "万"): 20_000,
    ("大", "万"): 50_000,
    ("小", "万"): 10_000,
}
_LABEL = r"(?:金额|实付款?|付款|总价|一共|售价|价格|花了|付了)"
_LABELLED = re.compile(rf"{_LABEL}\s*[:：]?\s*[¥￥]?\s*({_DIGITS})(?![\d万千kKwW])")  # 订单金额:1299.00
# three to five digits right after a product's name or a word: 电视2699, 投影仪 2680, 烤箱599, 明明是899
# (not X2000, 2024款, 5000毫安, 170斤, 身高170 or 12315)
_AFTER_NAME = re.compile(
    r"(?<=[\u4e00-\u9fff])(?<!身高|体重|尺码|鞋码|码数|腰围|胸围|型号|编号|单号|房号|房间|温度)(?<![楼室号第高重宽长])"
    r"\s?(?!123[14]5)(\d{3,5})(?![\d.a-zA-Z%]|\s*[a-zA-Z年月日号次个件台款毫斤克米升转瓦单人分秒度室楼层])"
)
_DIFFERENCE = re.compile(  # 差价1000, 差了300, 降了七百, 便宜了200多 (not 差评, 差不多)
    rf"(?:差价|差了?|降(?:了|价了?)?|便宜了?)\s*(?:({_DIGITS})|([一二两三四五六七八九十][{_NUMERAL}]*))\s*(万|千|k|w)?",
    re.IGNORECASE,
)
_UNIT = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000, "百": 100}
CONTEXT_KEYS = ("order_amount", "refund_amount", "amount", "price", "total")
SMALLEST_SPOKEN = 10  # 一块, 两块 are pieces more often than 元
SMALLEST_BOUGHT_FOR = 50  # "3的" or "12的" are quantities and sizes far more often than prices


def _number(digits: str, unit: str | None) -> float:
    return float(digits.replace(",", "")) * _UNIT.get((unit or "").lower(), 1)


def _with_tail(head: int, unit: str, tail: int) -> float:
    """A count of ``unit`` and a trailing digit in the next unit down: 五千八 → 5800, 1万2 → 12000, 2千(多) → 2000."""
    scale = _UNIT[unit.lower()]
    return float(head * scale + tail * scale // 10)


def _price(spoken: str) -> float:
    return _with_tail(chinese_number(spoken[0]) or 0, spoken[1], chinese_number(spoken[2]) or 0)


def _digit_round(digits: str, unit: str, tail: str | None) -> float:
    return _with_tail(int(digits), unit, int(tail or 0))


def amounts_in(text: str) -> list[float]:
    """Every amount of money the text states, in 元."""
    found = [_number(m.group(1), None) for m in _CURRENCY_BEFORE.finditer(text)]
    found += [_number(m.group(1), m.group(2)) for m in _CURRENCY_AFTER.finditer(text)]
    bought = [_number(m.group(1), m.group(2)) for m in _BOUGHT_FOR.finditer(text)]
    found += [value for value in bought if value >= SMALLEST_BOUGHT_FOR]
    spoken = [float(value) for m in _CHINESE.finditer(text) if (value := chinese_number(m.group(1)))]
    found += [value for value in spoken if value >= SMALLEST_SPOKEN]  # 一块新电池 counts a battery
    found += [float(value) for m in _CHINESE_ROUND.finditer(text) if (value := chinese_number(m.group(1)))]
    found += [float(value) for m in _NEARLY.finditer(text) if (value := chinese_number(m.group(1)))]
    found += [_price(m.group(1)) for m in _CHINESE_PRICE.finditer(text)]
    found += [float(_ROUGH_VALUE[m.groups()]) for m in _ROUGH.finditer(text)]
    found += [_digit_round(*m.groups()) for m in _DIGIT_ROUND.finditer(text)]
    found += [_number(m.group(1), None) for m in _LABELLED.finditer(text)]
    found += [_number(m.group(1), None) for m in _AFTER_NAME.finditer(text)]
    return list(dict.fromkeys(found))  # one amount read two ways counts once


def price_difference(text: str) -> float | None:
    """The gap a price-protection claim is about: stated (差价1000, 降了七百, 便宜了200多) or between the two
    prices of the item the turn gives (买的时候3899 现在3199 → 700); None when the turn says neither."""
    stated = [
        _number(digits, unit) if digits else float(chinese_number(spoken) or 0)
        for digits, spoken, unit in _DIFFERENCE.findall(text)
    ]
    if stated:
        return max(stated)
    prices = amounts_in(text)  # two prices of one item, not a price and a refund (2499的洗衣机 只保了15块)
    return max(prices) - min(prices) if len(prices) == 2 and min(prices) >= max(prices) / 2 else None


def amount_at_stake(texts: list[str], context: Mapping[str, object], intents: list[str]) -> float | None:
    """The money a dispute is about: in a price-protection claim (primary intent) the difference the turn
    states, since that is the refund asked for; otherwise the order's value."""
    if intents[:1] == ["price_protection"] and (difference := price_difference(texts[0])) is not None:
        return difference
    return order_amount(texts, context)


def order_amount(texts: list[str], context: Mapping[str, object]) -> float | None:
    """The largest amount stated in the texts or given by the order context; None when nothing says."""
    found = [value for text in texts for value in amounts_in(text)]
    for key in CONTEXT_KEYS:
        value = context.get(key)
        try:
            found.append(float(str(value).replace(",", "").lstrip("¥￥")))
        except ValueError:
            continue
    return max(found) if found else None
