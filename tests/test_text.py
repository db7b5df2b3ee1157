from scripts_library.text import Rewrite, Rewriter, canonical, compact, normalize, redact


def test_full_width_traditional_and_case_are_folded():
    assert canonical("ＡＢＣ１２３ 發票 退貨") == "abc123 发票 退货"


def test_compact_drops_spaces_and_punctuation_between_characters():
    assert compact("不 可.能！") == "不可能"


def test_repeated_punctuation_is_collapsed_but_counted():
    message = normalize("快点发货！！！！？？？")
    assert message.text == "快点发货!!??"
    assert message.exclamations == 4 and message.questions == 3


def test_repeated_segments_are_deduplicated_and_counted():
    message = normalize("在吗 在吗 在吗 发货了没")
    assert message.text == "在吗 发货了没"
    assert message.repeated_segments == 2


def test_pii_is_replaced_by_placeholders():
    text = redact("我叫王小明，电话13812345678，订单号 2024010112345678，身份证110101199001011234")
    assert "13812345678" not in text and "2024010112345678" not in text and "110101199001011234" not in text
    assert "王小明" not in text
    assert "[电话]" in text and "[订单]" in text and "[身份证号]" in text and "[姓名]" in text


def test_order_card_boilerplate_is_stripped_and_ids_extracted():
    message = normalize("订单编号:3812345678901 订单金额:45.00 我要退货")
    assert message.text == "我要退货"
    assert message.extracted["订单"] == ("3812345678901",)


def test_log_masks_become_plain_placeholders():
    assert normalize("订单[订单3]到哪了 [商品快照]").text == "订单[订单]到哪了"


def test_shorthand_is_spelled_out_only_as_whole_latin_words():
    rewrite = Rewriter([Rewrite("tk", "退款", latin=True), Rewrite("full refund", "全额退款", latin=True)])
    assert normalize("Full refund please", rewrite).text == "全额退款 please"
    assert normalize("tk了吗 stock", rewrite).text == "退款了吗 stock"
    assert normalize("fullrefund", rewrite).text == "全额退款"


def test_pinyin_matches_with_its_syllables_apart_or_together():
    rewrite = Rewriter([Rewrite("tui huo", "退货", latin=True), Rewrite("fa huo", "发货", latin=True)])
    assert normalize("tuihuo怎么弄", rewrite).text == "退货怎么弄"
    assert normalize("Tui Huo 怎么弄 fa  huo了吗", rewrite).text == "退货 怎么弄 发货了吗"
    assert normalize("statuihuo", rewrite).text == "statuihuo"


def test_a_turn_spelled_out_one_character_at_a_time_is_read_as_words():
    assert normalize("8 9 9 的 吹 风 机 不 给 退 ？").text == "899的吹风机不给退?"
    assert normalize("1 2 3 1 5 见").text == "12315见"
    assert normalize("到哪了 顺便 开 发票").text == "到哪了 顺便 开 发票"
