"""The shipped escalation policy, rule by rule: what escalates, to whom, and what must not (no model needed)."""

from __future__ import annotations

import pytest

from retrieval.amounts import amount_at_stake, amounts_in, order_amount, price_difference
from retrieval.escalation import EscalationPolicy, Situation, clauses, negated
from scripts_library.loader import load_library
from scripts_library.text import normalize
from tests.conftest import LIBRARY


@pytest.fixture(scope="module")
def policy() -> EscalationPolicy:
    return EscalationPolicy(load_library(LIBRARY).escalation)


CASES = [
    # (message, topic intents, emotion, amount from the order context, team or None)
    ("我有30个号每个都领了新人券，怎么都用不了", ["coupon_points"], "dissatisfied", None, "风控组"),
    ("我是职业打假的 你们这款一件赔十", ["counterfeit_claim"], "angry", None, "风控组"),
    ("买30个能便宜点吗", ["promotion_rules"], "neutral", None, None),
    ("再不退款我就打12315", ["refund_progress"], "angry", None, "客服主管"),
    ("不给退我就发微博曝光你们", ["return_exchange"], "angry", None, "客服主管"),
    ("我不会去12315的 放心", ["refund_progress"], "neutral", None, None),
    ("曝光啥的我不搞 你们看着办", ["refund_progress"], "dissatisfied", None, None),
    ("这根本不是正品 logo都歪了", ["counterfeit_claim"], "angry", None, "品控组"),
    ("你们卖假货！！", ["counterfeit_claim"], "angry", None, "品控组"),
    ("这是正品吗", ["product_inquiry"], "neutral", None, None),
    ("不是假货吧 我就问问", ["counterfeit_claim"], "neutral", None, None),
    ("真的假一赔十吗", ["counterfeit_claim"], "neutral", None, None),
    ("放假的时候能发货吗", ["shipping_urge"], "neutral", None, None),
    ("你们客服态度太差了 我要投诉", ["complaint_service"], "angry", None, "品控组"),
    ("你们客服是机器人吗 听不懂人话？", ["complaint_service"], "angry", None, "品控组"),
    ("这次客服态度很好必须表扬一下", ["complaint_service"], "positive", None, None),
    ("投诉多久有结果", ["complaint_service"], "neutral", None, None),
    ("没事 我不会投诉的 放心", ["complaint_service"], "neutral", None, None),
    ("我要转人工", ["greeting_thanks"], "neutral", None, None),
    ("899的耳机退货被拒我不接受必须给我退", ["return_exchange"], "angry", None, "售后主管"),
    ("电视收到屏幕就裂了 3999买的 我要全额退款", ["quality_issue"], "dissatisfied", None, "售后主管"),
    ("我要全额退款", ["refund_progress"], "angry", None, "售后主管"),
    ("我要退全款", ["return_exchange"], "angry", 3999.0, "售后主管"),
    ("我要退全款", ["return_exchange"], "angry", 20.0, None),
    ("15块的拖鞋 必须给我退", ["return_exchange"], "angry", None, None),
    ("全额退款的话来回运费谁出", ["return_exchange"], "neutral", None, None),  # asks about a full refund
    ("空调什么时候来安装", ["installation_repair"], "neutral", None, "品牌服务"),
    ("冷氣幾時來裝", ["installation_repair"], "anxious", None, "品牌服务"),
    ("台灯坏了能修吗", ["installation_repair"], "neutral", None, None),
    ("装空调的师傅很专业 点赞", ["installation_repair"], "positive", None, None),
    ("冰箱收到了很漂亮 什么时候有师傅上门呀", ["installation_repair"], "positive", None, "品牌服务"),
    ("百亿补贴的是不是假货啊 味道不对", ["counterfeit_claim"], "angry", None, "品控组"),
    ("空调滤网多久洗一次", ["product_inquiry"], "neutral", None, None),
    # accounts and orders counted the way buyers write them; a company's ordinary bulk order is not abuse
    ("注册了十几个小号 每个都领了券", ["coupon_points"], "neutral", None, "风控组"),
    ("这款我陆续下了四十多单 都有问题 按件赔吧", ["quality_issue"], "dissatisfied", None, "风控组"),
    ("公司采购 买了12件工服 能开专票吗", ["invoice"], "neutral", None, None),
    # threats outside the shop in other words; the same words inside other things are not threats
    ("再不处理 我就发抖音让大家看看", ["complaint_service"], "angry", None, "客服主管"),
    ("准备去市场监督管理局反映", ["refund_progress"], "dissatisfied", None, "客服主管"),
    ("我们是律师事务所 发票抬头怎么写", ["invoice"], "neutral", None, None),
    ("烟雾报警器的电池多久换一次", ["product_inquiry"], "neutral", None, None),
    ("我又不是要去12315 就想问问运费", ["return_exchange"], "neutral", None, None),
    ("鞋底全是灰 这是卖二手的吧", ["quality_issue"], "angry", None, "品控组"),
    ("物流查不到 是不是假单号啊", ["logistics_tracking"], "anxious", None, None),
    ("真的假的 明天就能到？", ["logistics_tracking"], "neutral", None, None),  # "really?", no claim
    # being ignored is a complaint about the service when that is what the turn is about, not said in passing
    # about a parcel or an invoice; asking how to complain is not a complaint
    ("问了三遍都没人回 什么意思", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("问了三遍都没人回 什么意思", ["logistics_tracking"], "dissatisfied", None, None),
    ("开个票推三阻四的", ["invoice"], "dissatisfied", None, None),
    ("开个票推三阻四的", ["complaint_service", "invoice"], "dissatisfied", None, "品控组"),
    ("开个票推三阻四的", ["invoice", "complaint_service"], "dissatisfied", None, None),  # a second request only
    ("投诉电话是多少", ["complaint_service"], "neutral", None, None),
    # partial refunds disputed, by the order's value
    ("冰箱6999 退货只退了5000 我不同意", ["return_exchange"], "dissatisfied", None, "售后主管"),
    ("29块的袜子只退一半 我不同意", ["return_exchange"], "dissatisfied", None, None),
    # bulk claims counted per unit, accounts counted with their kind
    ("一口气拍了30盒面膜 每盒按十倍赔给我", ["counterfeit_claim"], "angry", None, "风控组"),
    ("用6个手机号领的券 怎么都失效了", ["coupon_points"], "dissatisfied", None, "风控组"),
    ("下了二十几单 全部按假一赔十算", ["counterfeit_claim"], "angry", None, "风控组"),
    # media and consumer day; a lawyer who buys, someone else's idea, a threat taken back
    ("那就315见吧", ["refund_progress"], "angry", None, "客服主管"),
    ("315有活动吗", ["promotion_rules"], "neutral", None, None),
    ("我认识电视台的人 让他们来看看", ["quality_issue"], "angry", None, "客服主管"),
    ("我是律师 想开张专票", ["invoice"], "neutral", None, None),
    ("听朋友说可以找消协 我还是想先跟你们商量", ["return_exchange"], "neutral", None, None),
    ("说要打12315是我太冲动了 别介意", ["refund_progress"], "neutral", None, None),
    # evidence stated as a claim; a supposition is no claim
    ("防伪码一扫显示查无此码", ["counterfeit_claim"], "angry", None, "品控组"),
    ("专柜的人说这根本不是她们的货", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("莆田鞋也好意思卖正品价", ["counterfeit_claim"], "angry", None, "品控组"),
    ("如果收到的是假货怎么办", ["counterfeit_claim"], "neutral", None, None),
    # mistreatment complained of, asked or not; praise of the agent and one's own tone are not complaints
    ("你这什么语气啊", ["other"], "dissatisfied", None, "品控组"),
    ("消息发了一排都没回", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("能不能别再发自动回复了", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("已读不回 👍👍", ["greeting_thanks"], "positive", None, "品控组"),
    ("物流三天没更新 别想糊弄我", ["logistics_tracking"], "dissatisfied", None, None),
    ("terrible service 等了一小时", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("客服态度挺好的 就是发货太慢", ["complaint_service"], "dissatisfied", None, None),
    ("刚才我说话冲了点 抱歉", ["complaint_service"], "neutral", None, None),
    ("投诉多久有结果？", ["complaint_service"], "neutral", None, None),
    # values said the way buyers say them; a full refund asked about is no dispute
    ("一万二的沙发说只能退八折", ["return_exchange"], "dissatisfied", None, "售后主管"),
    ("冰箱四千五 只愿意退两千", ["return_exchange"], "dissatisfied", None, "售后主管"),
    ("大几千的东西退款被驳回了", ["refund_progress"], "angry", None, "售后主管"),
    ("取消的话是全额退款吧", ["order_cancel"], "neutral", None, None),
    # installation asked about before buying is a product inquiry (retrieval.classify), so no installation case
    ("还没买 空调包安装吗", ["product_inquiry"], "neutral", None, None),
    ("滚筒的运输螺栓要师傅来拆吗", ["installation_repair"], "neutral", None, "品牌服务"),
    ("洗碗机安装要自己接水管吗 准备下单了", ["product_inquiry"], "neutral", None, None),
    # more accounts and per-unit claims; a question about claiming per order is none
    ("帮我开了十几个帐号 每个帐号都要赔", ["coupon_points"], "dissatisfied", None, "风控组"),
    ("三个号都领了新人券 都要补差价", ["price_protection"], "neutral", None, "风控组"),
    ("一共拍了60盒 每盒都要求赔偿", ["quality_issue"], "angry", None, "风控组"),
    ("同一款我已经退了9次了 这次也退", ["return_exchange"], "dissatisfied", None, "风控组"),
    ("价保要一单一单申请吗 买了3台", ["price_protection"], "neutral", None, None),
    ("限购是每个账号一件吗", ["promotion_rules"], "neutral", None, None),
    # the police and self-media as threats; the same words in an address, a feature or a trade
    ("再拖我就去派出所报案", ["refund_progress"], "angry", None, "客服主管"),
    ("地址改到派出所对面的驿站", ["order_change"], "neutral", None, None),
    ("门铃带报警功能吗", ["product_inquiry"], "neutral", None, None),
    ("我做自媒体的 想谈合作", ["other"], "neutral", None, None),
    # authenticity judged by a test, a counter or the smell of the real thing; a worry laid to rest
    ("专卖店鉴定说不是正品", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("这瓶跟专柜买的正品根本不是这个味", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("之前担心是翻新机 用着挺好 谢谢", ["counterfeit_claim"], "positive", None, None),
    ("我没说你们卖假货 就问下生产日期", ["counterfeit_claim"], "neutral", None, None),
    # left waiting, whatever the topic; a complaint about the courier is not about the shop's service
    ("晾了我半小时一个字都没回", ["complaint_service"], "angry", None, "品控组"),
    ("晾了我半小时一个字都没回", ["shipping_urge"], "angry", None, None),
    ("打电话问发货 直接挂我电话", ["shipping_urge"], "angry", None, "品控组"),  # how an agent spoke: any topic
    ("我要投诉快递员 东西扔门口了", ["logistics_tracking", "complaint_service"], "angry", None, None),
    # a token refund offered on a costly order; when a full refund arrives is a question
    ("两千八的手机就给退一百", ["return_exchange"], "angry", None, "售后主管"),
    ("全额退款一般几天到账", ["refund_progress"], "neutral", None, None),
    # praise of one thing beside a complaint about another; a test that fails; a hang-up
    ("客服态度挺好的 就是快递太慢", ["complaint_service"], "dissatisfied", None, None),
    ("你这态度好点行不行", ["complaint_service"], "angry", None, "品控组"),
    ("酒扫码验证失败 两瓶都是", ["counterfeit_claim"], "neutral", None, "品控组"),
    ("这个是二手的还是全新的", ["product_inquiry"], "neutral", None, None),
    ("打售后电话说两句就给我挂了", ["complaint_service"], "angry", None, "品控组"),
    ("我老婆说要去消协 我觉得没必要", ["return_exchange"], "neutral", None, None),
    ("12315？没必要 就是想快点收到货", ["logistics_tracking"], "anxious", None, None),  # taken back in the next clause
    ("起诉？不至于 东西换个新的就行", ["quality_issue"], "dissatisfied", None, None),
    ("12315？我现在就打", ["refund_progress"], "angry", None, "客服主管"),
    ("闺蜜在你家买的口红说是假的 我这支没事吧", ["counterfeit_claim"], "anxious", None, None),  # hearsay
    ("我在你家买的口红是假的", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("全额退款到账了 谢谢", ["refund_progress"], "positive", None, None),
    # habitual refunds, a rights "studio", a serial number activated before, a stock reply, an address by a bureau
    ("每次都是收到货就申请仅退款 这次也一样", ["refund_progress"], "neutral", None, "风控组"),
    ("我们是做消费维权的 请按十倍处理", ["counterfeit_claim"], "dissatisfied", None, "风控组"),
    ("序列号查了是去年就激活过的", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("每次都是同一句模板回复 能认真看看吗", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("快递放在监管局附近的驿站了吗", ["logistics_tracking"], "neutral", None, None),
    ("1万2的钻戒 部分退款是几个意思", ["refund_progress"], "dissatisfied", None, "售后主管"),
    ("电视到了 很满意 想约个师傅上门挂墙", ["installation_repair"], "positive", None, "品牌服务"),
    # a bulk quantity and a statutory multiple, said in different clauses; a dozen units alone or a multiple alone
    ("这批辣条我拍了40包 标签不合格 按食品安全法每包十倍", ["quality_issue"], "neutral", None, "风控组"),
    ("一共36瓶 到时候统一按广告法处理", ["quality_issue"], "neutral", None, "风控组"),
    ("想买20包 能便宜点吗", ["promotion_rules"], "neutral", None, None),
    ("等了12个小时 广告法规定的吗", ["shipping_urge"], "neutral", None, None),
    # a disclaimer that the threat is not aimed at the shop; the rest of a partial refund; an agent's brush-off
    ("起诉流程你们懂吗 跟你们没关系 是房东的事", ["other"], "neutral", None, None),
    ("订单1299 退了我800 剩下的钱呢", ["return_exchange"], "dissatisfied", None, "售后主管"),
    ("29的东西 退了我20 剩下的呢", ["return_exchange"], "dissatisfied", None, None),
    ("一句套话就想打发叫花子", ["complaint_service"], "angry", None, "品控组"),
    ("全额退款 please 那个包两千多", ["return_exchange"], "angry", None, "售后主管"),
    ("假一赔十啥流程 就是问问", ["counterfeit_claim"], "neutral", None, None),
    # bulk claims with 假一赔十, addresses by the dozen; a consumer-protection platform; an appliance's alarm
    ("奶粉一共买了三十罐 假一赔十 你们算吧", ["counterfeit_claim"], "dissatisfied", None, "风控组"),
    ("十几个收货地址轮流下单 都是首单价", ["promotion_rules"], "neutral", None, "风控组"),
    ("我妈和我姐的号都下了新人专享那款 合并成一个包裹发吧", ["order_change"], "neutral", None, "风控组"),
    ("我和老公的号都买过 积分能合并吗", ["coupon_points"], "neutral", None, None),
    ("活动价我们办公室每人拍了8单 都能发吧", ["shipping_urge"], "neutral", None, "风控组"),
    ("每人限购几单", ["promotion_rules"], "neutral", None, None),
    ("换了三个名字分开下的单 限购应该管不到吧", ["promotion_rules"], "neutral", None, "风控组"),
    ("两个地址能分开发吗", ["order_change"], "neutral", None, None),
    ("刚才那个客服骂我神经病 我截图了", ["complaint_service"], "angry", None, "品控组"),
    ("医生说我有点过敏 这个面霜能退吗", ["return_exchange"], "neutral", None, None),
    ("投诉到底 已经在消费保提交了", ["complaint_service"], "angry", None, "客服主管"),
    ("冰箱一直嘀嘀报警 能派人来修吗", ["installation_repair"], "anxious", None, "品牌服务"),
    ("我要报警 哦不对 发错窗口了", ["other"], "neutral", None, None),
    # evidence that a code or an appraisal failed; a suspicion withdrawn
    ("扫码提示此码不存在", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("专柜鉴定没通过", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("之前以为是假的 去专柜验过是真的 错怪你们了", ["counterfeit_claim"], "neutral", None, None),
    # how the shop treats the customer
    ("你们店就这么招待顾客？爱买不买？", ["complaint_service"], "angry", None, "品控组"),
    ("拿一句套话就想打发我", ["complaint_service"], "angry", None, "品控组"),
    # a token compensation on a costly order; a full refund asked about, or refused
    ("八百多的鞋 只给补发一双鞋垫", ["quality_issue"], "dissatisfied", None, "售后主管"),
    ("两千多的床垫 能全额退吗", ["return_exchange"], "neutral", None, None),
    ("两千多的床垫 凭什么不给全额退", ["return_exchange"], "dissatisfied", None, "售后主管"),
    # an air conditioner by its horsepower; an accessory; an installation planned for later
    ("1.5匹那台到了 约下师傅", ["installation_repair"], "neutral", None, "品牌服务"),
    ("空调遥控器坏了 能单独买吗", ["installation_repair"], "neutral", None, None),
    ("师傅人很好 点赞 空调滤网多久洗一次", ["installation_repair"], "positive", None, None),
    ("空调滤网坏了 师傅能上门换吗", ["installation_repair"], "neutral", None, None),
    ("空调装好了 但是漏水 师傅能再来一趟吗", ["installation_repair"], "neutral", None, "品牌服务"),
    ("空调到了再联系你们装", ["installation_repair"], "neutral", None, None),
    # mistreatment described with a thumbs-up is sarcasm; a supposition is no claim even when heated
    ("消息一条都不回 真棒👍👍", ["complaint_service"], "positive", None, "品控组"),
    ("万一收到的是高仿 你们怎么赔！", ["counterfeit_claim"], "angry", None, None),
    ("假一赔十怎么申请 我就问问 别激动", ["counterfeit_claim"], "angry", None, None),
    # a token refund agreed on a costly order
    ("七千多的瓷砖 就同意退200", ["quality_issue"], "dissatisfied", None, "售后主管"),
    # a price-protection dispute is about the gap, not the order's value; an agent who leaves the customer waiting
    ("4299买的 今天3499 差了八百 必须给我补", ["price_protection"], "dissatisfied", None, "售后主管"),
    ("下单2680 现在1980 不给保价就别怪我闹", ["price_protection"], "angry", None, "售后主管"),
    ("1599的吸尘器 降了200 必须给我补", ["price_protection"], "dissatisfied", None, None),
    ("1599的吸尘器 降了200 必须给我补", ["price_protection"], "dissatisfied", 1599.0, None),
    ("两千多的电视 遥控器坏了 必须给我补发一个", ["quality_issue"], "dissatisfied", None, None),
    ("刚才那个客服把我晾那半小时了", ["complaint_service"], "dissatisfied", None, "品控组"),
    # a hostile turn about the service names the staff, the service or a manager; a bare 差评 threat does not,
    # and a refund chased angrily is about the refund
    ("客服都是摆设吗", ["complaint_service"], "angry", None, "品控组"),
    ("找你们领导来 跟你说不通", ["complaint_service"], "angry", None, "品控组"),
    ("客服都是摆设吗", ["complaint_service"], "dissatisfied", None, None),
    ("差评！！！", ["complaint_service"], "angry", None, None),
    ("退款拖了20天 你们就这么做生意？", ["refund_progress", "complaint_service"], "angry", None, None),
    # complaining about the bot while asking for a person is why they ask: a handoff, not an escalation
    ("机器人听不懂人话吗 转人工！！", ["complaint_service"], "angry", None, None),
    ("机器人听不懂人话吗", ["complaint_service"], "angry", None, "品控组"),
    # a promise recalled is a claim, however it ends; an organised group claiming coupons is abuse
    ("只退了一半 说好的全额退款呢", ["refund_progress"], "dissatisfied", None, "售后主管"),
    ("组织了几十个人一起领你们的券 怎么都被限制了", ["coupon_points"], "dissatisfied", None, "风控组"),
    ("你们敢说这是正品？", ["counterfeit_claim"], "angry", None, "品控组"),
    ("跟我柜台买的差远了", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("买了一个月降了800 补差价吧 不补我就退货", ["price_protection"], "dissatisfied", None, "售后主管"),
    ("降了800 凭什么不给保", ["price_protection"], "angry", None, "售后主管"),
    ("降了800 过保了不给保修吗", ["price_protection"], "neutral", None, None),
    ("洗衣机到了 送货师傅很给力 谁来装呀", ["installation_repair"], "positive", None, "品牌服务"),
    # a rhetorical question claims; evidence named after the check (查不到这个序列号); a team that buys to claim
    ("每次都让我等 敷衍谁呢", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("一句亲亲理解一下就打发了我三天", ["complaint_service"], "dissatisfied", None, "品控组"),
    ("官网查不到这个序列号 给个解释", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("这也叫正品？logo都是歪的", ["counterfeit_claim"], "dissatisfied", None, "品控组"),
    ("我们是维权团队 已公证购买三十件", ["counterfeit_claim"], "neutral", None, "风控组"),
    ("规格拍成了大号 改小号", ["order_change"], "neutral", None, None),  # 小号 the size
    ("降了600 差价全给我补回来", ["price_protection"], "angry", None, "售后主管"),
]


@pytest.mark.parametrize(("message", "intents", "emotion", "context_amount", "team"), CASES)
def test_each_rule_fires_where_it_should_and_nowhere_else(policy, message, intents, emotion, context_amount, team):
    context = {"order_amount": context_amount} if context_amount is not None else {}
    situation = Situation(intents, emotion, amount_at_stake([message], context, intents), high_value_yuan=500.0)
    decision = policy.decide(message, situation)
    assert (decision.team if decision.required else None) == team


def test_a_rule_about_the_turns_main_topic_reads_that_turn_alone(policy):
    earlier = ["问了三遍没人理 什么意思"]
    assert not policy.decide("好的 谢谢", Situation(["greeting_thanks"], "neutral"), earlier).required
    assert not policy.decide("好吧", Situation(["complaint_service"], "dissatisfied"), earlier).required
    # a rule that checks the conversation's topic still reads it: 两台 都是挂机 in an installation chat
    installing = policy.decide("两台 都是挂机", Situation(["installation_repair"], "neutral"), ["空调什么时候来装"])
    assert installing.team == "品牌服务"


def test_the_high_value_threshold_is_a_setting(policy):
    message = "899的耳机退货被拒 必须给我退"
    assert policy.decide(message, Situation(["return_exchange"], "angry", 899.0, 500.0)).required
    assert not policy.decide(message, Situation(["return_exchange"], "angry", 899.0, 1000.0)).required


def test_asking_for_a_person_is_a_routing_hint_not_an_escalation(policy):
    assert policy.handoff_requested("你好 我要转人工") and policy.handoff_requested("人工客服在吗")
    assert not policy.handoff_requested("不用转人工 我自己看看") and not policy.handoff_requested("发票怎么开")


@pytest.mark.parametrize(
    ("text", "pattern", "denied"),
    [
        ("我不会投诉的", "投诉", True),
        ("不是假货吧", "假货", True),
        ("曝光啥的我不搞", "曝光", True),
        ("没投诉", "投诉", True),
        ("我要投诉", "投诉", False),
        ("不给退我就曝光你们", "曝光", False),
        ("我又不是要去12315", "12315", True),
        ("朋友让我打12315我觉得没必要", "12315", True),
    ],
)
def test_negation_looks_just_around_the_mention(text, pattern, denied):
    start = text.index(pattern)
    assert negated(text, start, start + len(pattern)) is denied


def test_clauses_know_a_question_from_a_claim():
    assert [(c.text, c.question) for c in clauses("真的假一赔十吗？ 假一赔十 现在就赔! 万一是假的呢")] == [
        ("真的假一赔十吗", True),
        ("假一赔十", False),
        ("现在就赔", False),
        ("万一是假的呢", True),
    ]
    assert [c.text for c in clauses("your service is so bad 真的")] == ["yourserviceissobad", "真的"]


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("3999买的", [3999.0]),
        ("三千多的相机", [3000.0]),
        ("¥1,299", [1299.0]),
        ("花了2万块", [20000.0]),
        ("15块的拖鞋", [15.0]),
        ("1.8米的床 30个号 165穿M", []),
        ("订单金额:1299.00", [1299.0]),
        ("洗衣机4599 坏了", [4599.0]),
        ("三千多啊", [3000.0]),
        ("2024款 5000毫安 X2000 打12315", []),
        ("1.2w的沙发", [12000.0]),
        ("冰箱五千八 退三千", [5800.0]),
        ("一万出头的空调", [10000.0]),
        ("五百整的东西", [500.0]),
        ("一共1560 只同意退一半", [1560.0]),
        ("给您换一块新电池", []),
        ("助听器2千多", [2000.0]),
        ("1万2的钻戒", [12000.0]),
        ("1.5k", []),
        ("小三千的相机", [3000.0]),
        ("金额八百六", [860.0]),
        ("两千左右的手机", [2000.0]),
        ("2999那个单", [2999.0]),
        ("烤箱599 退了一半", [599.0]),
        ("身高170 尺码250 住302室", []),
        ("投影仪 2680", [2680.0]),
        ("房间 302", []),
    ],
)
def test_amounts_are_read_from_how_customers_write_them(text, amounts):
    assert amounts_in(text) == amounts


@pytest.mark.parametrize(
    ("text", "gap"),
    [
        ("差价1000 必须补", 1000.0),
        ("降了七百", 700.0),
        ("便宜了200多", 200.0),
        ("刚买就降100", 100.0),
        ("买的时候3899 现在3199", 700.0),
        ("2499的洗衣机 只保了15块", None),  # a price and a refund, not two prices
        ("差评 差不多吧", None),
    ],
)
def test_a_price_protection_claim_is_about_the_gap(text, gap):
    assert price_difference(text) == gap


def test_only_a_price_protection_claim_weighs_the_gap():
    assert amount_at_stake(["3899买的 差700"], {}, ["price_protection"]) == 700
    assert amount_at_stake(["3899买的 差700"], {}, ["return_exchange", "price_protection"]) == 3899
    assert amount_at_stake(["降价了 能保价吗"], {"order_amount": 2999}, ["price_protection"]) == 2999


def test_a_rough_value_counts_at_its_low_end():
    assert order_amount(["大几千的单子"], {}) == 5000 and order_amount(["小几千"], {}) == 1000


@pytest.mark.parametrize(
    ("typed", "team"),
    [("找侓师了 等着吧", "客服主管"), ("1 2 3 1 5 见", "客服主管"), ("jia huo ba zhe shi", "品控组")],
)
def test_typos_pinyin_and_spelled_out_turns_reach_the_policy_spelled_out(policy, typed, team):
    text = normalize(typed, load_library(LIBRARY).rewrite).text
    assert policy.decide(text, Situation(["counterfeit_claim"], "angry")).team == team
