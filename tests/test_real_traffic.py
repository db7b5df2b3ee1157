"""How the real model and index treat the shapes of real traffic (../shared/domain/real_traffic.md).

Patterns, not the evaluation sets' texts: shorthand, requests with polite or angry tails, two requests in
one turn, follow-ups that need the conversation, calm questions with "hot" words.
"""

from __future__ import annotations

import pytest

from retrieval.classify import segments
from retrieval.types import MessageInput, Turn


def classify(assistant, message: str, history: tuple[Turn, ...] = ()):
    return assistant.classify(MessageInput(message, history))


@pytest.mark.parametrize(
    ("message", "intent"),
    [
        ("fh了吗", "shipping_urge"),
        ("tk啥时候到账", "refund_progress"),
        ("电子fp在哪下载", "invoice"),
        ("快递到哪了 谢谢啦", "logistics_tracking"),
        ("在吗 发票怎么开", "invoice"),
        ("再不退款我就去投诉你们", "refund_progress"),
    ],
)
def test_the_request_decides_the_intent_not_its_decoration(assistant, message, intent):
    assert classify(assistant, message).intent.id == intent


def test_praise_of_the_service_is_thanks_not_a_complaint(assistant):
    praised = classify(assistant, "客服小哥哥太耐心了 解释得清清楚楚 给你们点个大大的赞")
    assert praised.emotion.id == "positive" and praised.intent.id == "greeting_thanks"
    assert ("complaint_service", praised.intent.alternatives[0][1]) == praised.intent.alternatives[0]
    assert classify(assistant, "你们客服态度太差了 问三遍都不回").intent.id == "complaint_service"


def test_a_pleased_turns_question_is_its_request(assistant):
    result = classify(assistant, "物流超快 隔天就到了👍 顺便问下发票怎么开")
    assert result.emotion.id == "positive" and result.intent.id == "invoice"


def test_installation_asked_before_buying_is_a_product_question_with_no_escalation(assistant):
    before = classify(assistant, "还没下单 想先问问热水器装的时候要自己买管子吗")
    assert before.intent.id == "product_inquiry" and not before.escalation.required
    assert before.intent.alternatives[0][0] == "installation_repair"
    after = classify(assistant, "热水器到了 约个师傅上门装")
    assert after.intent.id == "installation_repair" and after.escalation.team == "品牌服务"
    recalled = classify(assistant, "热水器师傅说装要另收200材料费 不是说包安装吗")  # a promise recalled: bought
    assert recalled.intent.id == "installation_repair" and recalled.escalation.team == "品牌服务"


def test_two_requests_in_one_turn_are_both_returned(assistant):
    result = classify(assistant, "快递到哪了 顺便问下能开发票吗")
    assert [i.id for i in result.intents][:2] == ["logistics_tracking", "invoice"]
    suggested = assistant.suggest(MessageInput("快递到哪了 顺便问下能开发票吗"))
    assert [g.intent.id for g in suggested.groups] == ["logistics_tracking", "invoice"]
    assert all(s.intent == "invoice" for s in suggested.groups[1].suggestions) and suggested.groups[1].suggestions


@pytest.mark.parametrize(
    ("message", "clauses"),
    [
        ("发货了吗 还有发票记得开", ["发货了吗", "发票记得开"]),  # 还有: "also"
        ("黑色L码还有没有 170穿L行吗", ["黑色L码还有没有", "170穿L行吗"]),  # 还有没有: "still have"
        ("这款还有货吗", ["这款还有货吗"]),
    ],
)
def test_a_turn_splits_into_requests_at_also_not_at_still(message, clauses):
    assert segments(message) == clauses


@pytest.mark.parametrize("follow_up", ["是的", "好吧", "那怎么办", "[订单x]", "？？？", "不行"])
def test_a_follow_up_takes_the_conversations_topic(assistant, follow_up):
    history = (Turn("customer", "我想退货 衣服大了"), Turn("agent", "亲，是要退货对吗？"))
    assert classify(assistant, follow_up, history).intent.id == "return_exchange"


@pytest.mark.parametrize("handoff", ["转人工", "人工客服 人工客服"])
def test_asking_for_a_person_keeps_the_conversations_topic(assistant, handoff):
    history = (Turn("customer", "专票的税号填错了"), Turn("agent", "亲 请问是哪一笔订单呢"))
    assert classify(assistant, handoff, history).intent.id == "invoice"
    assert classify(assistant, handoff).intent.id == "greeting_thanks"


def test_a_threat_alone_is_about_the_complaint_before_it(assistant):
    history = (Turn("customer", "热水壶烧了两次就漏电"), Turn("agent", "亲 麻烦提供一下视频哦"))
    threat = classify(assistant, "行 这事我让律师跟你们谈", history)
    assert threat.intent.id == "quality_issue" and threat.escalation.team == "客服主管"


def test_a_continuation_that_names_its_own_request_keeps_it(assistant):
    history = (Turn("customer", "拍了四天了还不发"), Turn("agent", "亲 仓库排单中 预计下周发出"))
    assert classify(assistant, "那就取消吧 不等了", history).intent.id == "order_cancel"
    assert classify(assistant, "那大概哪天呢", history).intent.id == "shipping_urge"
    assert classify(assistant, "唉 那再等两天吧", history).intent.id == "shipping_urge"  # acknowledged, then 那…


def test_a_merchant_or_courier_writing_is_outside_the_buyers_topics(assistant):
    merchant = classify(assistant, "我是卖家 买家退货时填的服务单在哪里审核")
    assert merchant.intent.id == "other" and merchant.intent.alternatives[0][0] == "return_exchange"
    assert classify(assistant, "买家退货时填的服务单在哪里看").intent.id == "return_exchange"


def test_nothing_else_in_reply_to_the_agents_closing_question_is_thanks(assistant):
    asked = (Turn("customer", "空调什么时候来装"), Turn("agent", "亲 师傅明天上午上门 还有其他可以帮您的吗"))
    assert classify(assistant, "没了", asked).intent.id == "greeting_thanks"
    assert classify(assistant, "没了没了 谢谢", asked).intent.id == "greeting_thanks"
    assert classify(assistant, "没了 发票还没开呢", asked).intent.id == "invoice"  # something else after all
    stock = (Turn("customer", "黑色的L码还有吗"), Turn("agent", "亲 我帮您查一下库存哦"))
    assert classify(assistant, "没了？", stock).intent.id == "stock_restock"  # sold out?


def test_relief_that_the_goods_are_genuine_is_thanks_not_a_claim(assistant):
    assert classify(assistant, "防伪码扫过了 显示是正品 这下安心了 谢谢亲").intent.id == "greeting_thanks"
    assert classify(assistant, "防伪码扫了显示查无此码 你们卖假货").intent.id == "counterfeit_claim"


CALM_WITH_HOT_WORDS = [
    "你们家会员怎么升级",
    "退款流程是怎样的",
    "客服几点下班",
    "别家卖得便宜点 能便宜吗",
    "我是律师 发票抬头写我们律所",  # a lawyer who buys threatens nothing
    "我不会去12315的 就想问问能不能换个颜色",  # a threat denied
]


def test_an_emoji_alone_acknowledges_whatever_the_topic(assistant):
    history = (Turn("customer", "退款怎么还没到"), Turn("agent", "亲 已经为您加急处理了 还有其他可以帮您的吗"))
    assert classify(assistant, "👌", history).intent.id == "greeting_thanks"


@pytest.mark.parametrize("message", CALM_WITH_HOT_WORDS)
def test_calm_questions_with_hot_words_are_not_angry(assistant, message):
    assert classify(assistant, message).emotion.id != "angry"


@pytest.mark.parametrize(
    ("heated", "disclaimer"),
    [
        ("我要报警！！", "哦不对 发错窗口了"),
        ("骗子店铺 等着12315吧", "开玩笑的哈 发货快点"),
        ("去消协告你们", "跟你们没关系 是别的店"),
    ],
)
def test_heat_the_customer_disclaims_is_not_angry(assistant, heated, disclaimer):
    assert classify(assistant, heated).emotion.id == "angry"
    assert classify(assistant, f"{heated} {disclaimer}").emotion.id != "angry"


def test_a_denied_complaint_is_read_as_the_request_it_makes(assistant):
    denied = classify(assistant, "不是说你们客服不好啊 就是包裹三天没更新了")
    assert denied.intent.id == "logistics_tracking" and denied.emotion.id != "angry"
    assert classify(assistant, "你们客服态度不好 包裹三天没更新也不管").intent.id == "complaint_service"


def test_asking_for_a_person_is_reported_without_escalating(assistant):
    result = classify(assistant, "你好 我要转人工")
    assert result.handoff_requested and not result.escalation.required


def test_an_order_value_the_agent_stated_counts_for_the_refund_dispute_rule(assistant):
    history = (Turn("customer", "退款怎么少了"), Turn("agent", "亲，您这单实付1580元，扣除包装费后可退1300元"))
    assert classify(assistant, "我不接受", history).escalation.team == "售后主管"
    assert not classify(assistant, "我不接受", history[:1]).escalation.required


def test_a_refusal_of_a_token_offer_keeps_the_disputes_value_and_topic(assistant):
    history = (
        Turn("customer", "我买的那个投影仪 2680"),
        Turn("customer", "有暗角 申请退货退款 你们只同意退一部分"),
        Turn("agent", "亲 可以补偿您50元"),
    )
    assert classify(assistant, "不行", history).escalation.team == "售后主管"


def test_an_order_card_pasted_into_the_turn_states_its_value(assistant):
    message = "订单编号:[订单1] 订单金额:2399.00 商家拒绝退款"  # normalising drops the card; its value still counts
    assert classify(assistant, message).escalation.team == "售后主管"
