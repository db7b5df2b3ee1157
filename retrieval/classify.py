"""Classification step of the pipeline: one message vector in, intent, emotion and escalation out.

Intent = the intent model on the message, blended with the recent customer turns when the message alone
is unsure, times the entry classifier's per-intent opinion. Emotion = the emotion model, shifted from the
balanced training mix to the traffic mix. Escalation = the policy over the message and recent turns, and where
no rule fires, the learned backstop (retrieval/backstop.py).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from retrieval.amounts import amount_at_stake
from retrieval.backstop import learned_escalation
from retrieval.classifier import Prediction, dense_features
from retrieval.escalation import Situation, clauses
from retrieval.serving import ServingIndex
from retrieval.settings import ClassifierSettings
from retrieval.types import Classification, EmotionResult, IntentResult, MessageInput, Turn
from scripts_library.text import NormalizedMessage, canonical, compact, join_spelled_out, normalize

_MASK = re.compile(r"\[[^\]]{1,8}\]")
# clause breaks: punctuation, spaces, 顺便/另外/对了, and 还有 meaning "also" (not 还有没有, 还有货吗: "still have")
_SEGMENT_BREAK = re.compile(
    r"[，,。！!？?；;\s]+|顺便问下|顺便问一下|顺便|另外|还有就是|还有(?![没吗货库现么不嘛呢的几多啥])|对了"
)
NO_TOPIC = ("greeting_thanks", "other")  # labels that say nothing about what the customer needs
CONTINUATIONS = ("那", "所以", "然后", "可是", "但是")
CONTINUATION_WEIGHT = 0.5
_ACKNOWLEDGED = re.compile(r"^(好吧|行吧|好的|好|行|嗯+|唉|哎|哦|噢|额|呃|ok)…*")  # 好吧 那还要等多久 continues too
SHORT_TURN_CHARS = 4  # a third of real turns are this short; with a topic of their own, still mostly context
SHORT_TURN_WEIGHT = 0.7
MIN_SEGMENT_CHARS = 2
MIN_TOPIC_CHARS = 4  # what is left of a threat-only message is no topic
PRE_SALE_LOOKALIKES = ("installation_repair", "counterfeit_claim")  # asked before buying: product_inquiry
PRAISE_LOOKALIKES = ("complaint_service", "counterfeit_claim")  # said pleased: thanks
THREAT_WEIGHT = 0.8  # a threat alone (我找律师跟你们谈) after a complaint is about that complaint
THREAT_READINGS = ("complaint_service", *NO_TOPIC)  # how a threat alone reads without its conversation

Embed = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Classified:
    """A classification plus what the retrieval step reuses: the search vector and the entry model's view."""

    classification: Classification
    search_vector: np.ndarray
    entry_log_p: np.ndarray | None


@dataclass(frozen=True)
class TopicEstimate:
    """Intent probabilities and the retrieval vector, both blended with the conversation's recent turns."""

    probabilities: np.ndarray
    search_vector: np.ndarray


def history_weight(confidence: float) -> float:
    """How much the conversation's topic counts: more when the message alone is unsure."""
    return float(np.clip(1.1 - confidence, 0.0, 0.8))


def is_follow_up(index: ServingIndex, text: str) -> bool:
    """A turn that only makes sense with the conversation before it: 是的, 好吧 那算了, an order number or an
    address given in reply (masks and digits only), bare punctuation (？？？). Not an emoji alone (👌, 👍): that
    acknowledges, whatever the topic was."""
    if not compact(text) and any(unicodedata.category(ch) == "So" for ch in text):
        return False
    parts = [compact(_MASK.sub("", part)) for part in _SEGMENT_BREAK.split(text)]
    return all(not p or p.isdigit() or p in index.follow_ups for p in parts)


def follow_up_weight(index: ServingIndex, text: str, confidence: float) -> float | None:
    """How far the conversation's topic decides this turn's: fully for a follow-up; for a turn that continues
    the last one (那…, 所以…) at least CONTINUATION_WEIGHT, more the less sure the message is alone (那黑色的呢)
    and less when it names its own topic (那取消吧); by the message's own confidence otherwise (None)."""
    if is_follow_up(index, text):
        return 1.0
    continues = _ACKNOWLEDGED.sub("", compact(text)).startswith(CONTINUATIONS)
    return max(CONTINUATION_WEIGHT, history_weight(confidence)) if continues else None


def context_turns(history: Sequence[Turn], turns: int) -> list[str]:
    """The customer's last ``turns`` turns and, after them, the agent's last turn (it often names the topic:
    "亲 跨境商品需要提供身份证信息用于清关哦" before a bare [身份证号])."""
    chosen = recent_customer_turns(history, turns)
    agent = [t.text for t in history if t.role == "agent"][-1:] if turns else []
    return [*chosen, *agent]


def recent_customer_turns(history: Sequence[Turn], turns: int) -> list[str]:
    return [t.text for t in history if t.role == "customer"][-turns:] if turns else []


def intent_probabilities(index: ServingIndex, message: NormalizedMessage, vector: np.ndarray) -> np.ndarray:
    features = dense_features(vector.reshape(1, -1), [message], index.intent_model.use_cues)
    return index.intent_model.predict_proba([message.text], features)[0]


@dataclass(frozen=True)
class Context:
    """The conversation's recent customer turns as one normalised text and its vector."""

    message: NormalizedMessage
    vector: np.ndarray


def conversation(index: ServingIndex, recent: Sequence[str], embed: Embed) -> Context | None:
    if not recent:
        return None
    message = normalize(" ".join(recent), index.rewrite)
    return Context(message, embed(message.text or " ".join(recent)))


def blend_history(
    index: ServingIndex, p_message: np.ndarray, vector: np.ndarray, context: Context | None, weight: float | None
) -> TopicEstimate:
    """The message's intent probabilities and vector, moved toward the conversation's topic by ``weight``, or
    (None) the more the less sure the message is alone."""
    if context is None:
        return TopicEstimate(p_message, vector)
    context_vector = context.vector
    p_history = intent_probabilities(index, context.message, context_vector)
    labels = index.intent_model.labels
    if "greeting_thanks" in labels:  # a greeting in the history says nothing about the topic
        p_history = p_history.copy()
        p_history[labels.index("greeting_thanks")] = 0.0
        p_history /= max(p_history.sum(), 1e-9)
    weight = history_weight(float(p_message.max())) if weight is None else weight
    blended = (1 - weight) * vector + weight * context_vector
    blended = blended / max(float(np.linalg.norm(blended)), 1e-9)
    return TopicEstimate((1 - weight) * p_message + weight * p_history, blended.astype(np.float32))


def with_entry_evidence(
    index: ServingIndex, probabilities: np.ndarray, entry_log_p: np.ndarray | None, weight: float
) -> np.ndarray:
    """Intent probabilities times the entry classifier's per-intent probabilities to a small power.

    The entry classifier separates scripts by all their examples; summed per intent it is a second,
    differently trained opinion on the topic that corrects some of the intent model's errors. A product
    of experts (rather than an average, which flattens whenever they disagree) keeps confidences calibrated.
    """
    if entry_log_p is None or not weight:
        return probabilities
    evidence = np.exp(entry_log_p) @ index.entry_intents
    combined = np.exp(np.log(probabilities + 1e-9) + weight * np.log(evidence + 1e-9))
    return combined / combined.sum()


def intent_result(index: ServingIndex, probabilities: np.ndarray, thresholds: ClassifierSettings) -> IntentResult:
    labels = index.intent_model.labels
    order = np.argsort(-probabilities)
    top, confidence = labels[order[0]], float(probabilities[order[0]])
    ranked = [(labels[i], float(probabilities[i])) for i in order]
    if confidence < thresholds.other_below and top != "other":
        ranked = [("other", confidence), *ranked]
        top = "other"
    alternatives = tuple(
        (label, round(p, 4)) for label, p in ranked[1:4] if p >= thresholds.alternative_min and label != top
    )
    return IntentResult(top, index.intent_names.get(top, top), round(confidence, 4), alternatives)


def segments(text: str) -> list[str]:
    """The separate requests of a turn: its clauses, split at spaces, punctuation and 顺便/另外/还有."""
    return [part for part in _SEGMENT_BREAK.split(text) if len(compact(part)) >= MIN_SEGMENT_CHARS]


@dataclass(frozen=True)
class ClauseTopic:
    """A clause, its topic and how sure the n-gram model is of it."""

    text: str
    label: str
    confidence: float

    @property
    def asks(self) -> bool:
        """Whether the clause asks (滤网多久洗) or states; read only for pleased turns."""
        return any(c.question for c in clauses(self.text))


def segment_topics(index: ServingIndex, text: str, thresholds: ClassifierSettings) -> list[ClauseTopic]:
    """Each clause's topic by the intent model's character n-grams, in order, when it is sure of one."""
    parts = segments(text)
    if len(parts) < 2:
        return []
    labels = index.intent_model.labels
    topics = []
    for part, row in zip(parts, index.intent_model.lexical_proba(parts), strict=True):
        best = int(row.argmax())
        if labels[best] not in NO_TOPIC and row[best] >= thresholds.segment_min:
            topics.append(ClauseTopic(part, labels[best], float(row[best])))
    return topics


def without_denied_complaint(
    index: ServingIndex, text: str, probabilities: np.ndarray, topics: list[ClauseTopic]
) -> tuple[np.ndarray, list[ClauseTopic]]:
    """Intent probabilities and clause topics without the service complaint the customer denies making (我不会投诉的
    就问下券为啥没抵扣; 不是说你们客服不好 就是退款没到)."""
    labels = index.intent_model.labels
    if "complaint_service" not in labels or not index.denies_complaint(text):
        return probabilities, topics
    kept = probabilities.copy()
    kept[labels.index("complaint_service")] = 0.0
    return kept / max(float(kept.sum()), 1e-9), [t for t in topics if t.label != "complaint_service"]


def leading_request(
    primary: IntentResult, topics: list[ClauseTopic], pleased: bool, first_request_below: float
) -> ClauseTopic | None:
    """The clause whose topic leads the turn instead of the whole turn's reading: the first request when the turn
    reads as a greeting (…谢谢啦) or, less surely than ``first_request_below``, as a later request ("发货没 发票也
    记得开"); in a pleased turn, the question after the praise (师傅装得很专业 顺便问下滤网多久洗一次: the praise
    asks for nothing)."""
    question = next((t for t in topics if t.asks), None) if pleased else None
    if question is not None:
        return question if question.label != primary.id else None
    distinct = list(dict.fromkeys(t.label for t in topics))
    later = len(distinct) > 1 and primary.id in distinct[1:] and primary.confidence < first_request_below
    if topics and (primary.id in NO_TOPIC or later):
        return topics[0]
    return None


def requests(
    index: ServingIndex, primary: IntentResult, topics: list[ClauseTopic], pleased: bool, first_request_below: float
) -> tuple[IntentResult, tuple[IntentResult, ...]]:
    """The primary intent (the leading clause's topic, or the whole turn's reading) and the further requests the
    clauses make."""
    leading = leading_request(primary, topics, pleased, first_request_below)
    if leading is not None:
        label = leading.label
        alternatives = ((primary.id, primary.confidence), *primary.alternatives)
        primary = IntentResult(label, index.intent_names.get(label, label), round(leading.confidence, 4), alternatives)
    secondary: dict[str, float] = {}
    for label, confidence in ((t.label, t.confidence) for t in topics):
        if label != primary.id:
            secondary[label] = max(secondary.get(label, 0.0), confidence)
    found = tuple(IntentResult(i, index.intent_names.get(i, i), round(p, 4), ()) for i, p in secondary.items())
    return primary, found


def relabelled(index: ServingIndex, intent: IntentResult, label: str, confidence: float) -> IntentResult:
    """``intent`` read as ``label``; the model's own reading stays listed as the first alternative."""
    alternatives = ((intent.id, intent.confidence), *intent.alternatives)
    return IntentResult(label, index.intent_names.get(label, label), confidence, alternatives)


def praise_is_thanks(index: ServingIndex, intent: IntentResult, emotion: EmotionResult) -> IntentResult:
    """A pleased turn about the service or the goods being genuine (客服小姐姐态度真好 必须好评; 扫了防伪码显示正品
    放心了) thanks the shop; it complains of nothing."""
    if intent.id not in PRAISE_LOOKALIKES or emotion.id != "positive":
        return intent
    return relabelled(index, intent, "greeting_thanks", emotion.confidence)  # as sure as the mood is


def before_buying_is_inquiry(index: ServingIndex, intent: IntentResult, text: str) -> IntentResult:
    """Installation or authenticity asked before buying (还没买 空调包安装吗) is a pre-sale question about the
    product, not an after-sale case."""
    if intent.id not in PRE_SALE_LOOKALIKES or not index.said_before_buying(text):
        return intent
    return relabelled(index, intent, "product_inquiry", intent.confidence)


def merchant_side_is_other(index: ServingIndex, intent: IntentResult, text: str) -> IntentResult:
    """A merchant or a courier writing (我是商家 退货服务单怎么处理) asks the platform's side of the trade: no buyer's
    topic applies."""
    if intent.id == "other" or not index.said_by_merchant(text):
        return intent
    return relabelled(index, intent, "other", intent.confidence)


def closing_is_thanks(index: ServingIndex, intent: IntentResult, text: str, history: Sequence[Turn]) -> IntentResult:
    """没了 in reply to the agent's 还有其他可以帮您的吗 ends the conversation: thanks, whatever the words mean
    elsewhere (没了: sold out) and whatever the conversation was about."""
    if intent.id == "greeting_thanks" or not history or history[-1].role != "agent":
        return intent
    if not index.asks_anything_else(history[-1].text) or not index.is_closing(text):
        return intent
    return relabelled(index, intent, "greeting_thanks", intent.confidence)


def shift_to_traffic(prediction: Prediction, thresholds: ClassifierSettings) -> Prediction:
    """Correct for label shift: training emotions are balanced, live traffic is mostly neutral."""
    share = thresholds.emotion_traffic_share
    weighted = {k: p * share.get(k, 0.2) ** thresholds.prior_strength for k, p in prediction.probabilities.items()}
    total = sum(weighted.values()) or 1.0
    probabilities = {k: v / total for k, v in weighted.items()}
    best = max(probabilities, key=probabilities.get)
    return Prediction(best, probabilities[best], probabilities)


def emotion_intensity(emotion: Prediction, message: NormalizedMessage) -> float:
    if emotion.label == "neutral":
        return round(0.3 * (1 - emotion.probabilities.get("neutral", 1.0)), 3)
    punctuation = 0.1 * min(message.exclamations, 3) + 0.05 * min(message.questions, 2)
    return round(float(np.clip(emotion.confidence * 0.8 + punctuation + 0.1 * message.repeated_segments, 0, 1)), 3)


def emotion_prediction(index: ServingIndex, message: NormalizedMessage, vector: np.ndarray) -> Prediction:
    features = dense_features(vector.reshape(1, -1), [message], index.emotion_model.use_cues)
    return index.emotion_model.predict(message.text, features[0])


def without_anger(prediction: Prediction) -> Prediction:
    """The most likely mood other than angry, for a turn whose threat or suspicion is taken back or disclaimed
    (12315电话多少 不是投诉你们; 律师函警告 开玩笑的): angry words, no hostility."""
    calm = {label: p for label, p in prediction.probabilities.items() if label != "angry"}
    total = sum(calm.values()) or 1.0
    calm = {label: p / total for label, p in calm.items()}
    label = max(calm, key=calm.__getitem__)
    return Prediction(label, calm[label], calm | {"angry": 0.0})


def emotion_result(
    index: ServingIndex, message: NormalizedMessage, vector: np.ndarray, thresholds: ClassifierSettings
) -> EmotionResult:
    prediction = shift_to_traffic(emotion_prediction(index, message, vector), thresholds)
    angry = prediction.probabilities.get("angry", 0.0)
    if index.disclaims(message.text):
        prediction = without_anger(prediction)
    elif prediction.label != "angry" and angry >= thresholds.angry_at:
        prediction = Prediction("angry", angry, prediction.probabilities)
    return EmotionResult(prediction.label, round(prediction.confidence, 4), emotion_intensity(prediction, message))


def own_topic(
    index: ServingIndex, message: NormalizedMessage, vector: np.ndarray, embed: Embed, topical: str
) -> np.ndarray:
    """The message's intent probabilities, read from ``topical``: the message without mentions that say nothing
    about the topic (a 12315 or 曝光 threat escalates; "不给退我就曝光你们" is still about a return)."""
    if topical == message.text or len(compact(topical)) < MIN_TOPIC_CHARS:
        return intent_probabilities(index, message, vector)
    stripped = replace(message, text=topical)
    return intent_probabilities(index, stripped, embed(topical))


def read_topic(
    index: ServingIndex,
    thresholds: ClassifierSettings,
    embed: Embed,
    message: NormalizedMessage,
    vector: np.ndarray,
    history: Sequence[Turn],
) -> TopicEstimate:
    """Intent probabilities and search vector of the turn in its conversation."""
    context = conversation(index, context_turns(history, thresholds.history_turns), embed)
    topical = index.without_topic_neutral(message.text)
    p_message = own_topic(index, message, vector, embed, topical)
    weight = follow_up_weight(index, message.text, float(p_message.max()))
    top = index.intent_model.labels[int(p_message.argmax())]
    if weight is None and top in THREAT_READINGS and topical != message.text:  # a threat: its words were left out
        weight = max(history_weight(float(p_message.max())), THREAT_WEIGHT)
    if weight is None and len(compact(message.text)) <= SHORT_TURN_CHARS and top not in NO_TOPIC:
        weight = max(history_weight(float(p_message.max())), SHORT_TURN_WEIGHT)  # 拆了, 左边: answers to the agent
    return blend_history(index, p_message, vector, context, weight)


def classify(index: ServingIndex, thresholds: ClassifierSettings, embed: Embed, request: MessageInput) -> Classified:
    """The classification of one customer turn, the retrieval vector and the entry classifier's log-probabilities."""
    message = normalize(request.message, index.rewrite)
    text = message.text or request.message.strip()
    vector = embed(text)
    recent = recent_customer_turns(request.history, thresholds.history_turns)
    topic = read_topic(index, thresholds, embed, message, vector, request.history)
    entry_log_p = index.entry_log_probabilities(topic.search_vector)
    probabilities = with_entry_evidence(index, topic.probabilities, entry_log_p, thresholds.entry_intent_weight)
    emotion = emotion_result(index, message, vector, thresholds)
    topics = segment_topics(index, text, thresholds)
    probabilities, topics = without_denied_complaint(index, text, probabilities, topics)
    pleased = emotion.id == "positive"
    intent, secondary = requests(
        index, intent_result(index, probabilities, thresholds), topics, pleased, thresholds.first_request_below
    )
    intent = before_buying_is_inquiry(index, praise_is_thanks(index, intent, emotion), text)
    intent = merchant_side_is_other(index, intent, text)
    intent = closing_is_thanks(index, intent, text, request.history)
    # the turn as typed (繁→简, spelled-out characters joined): normalising drops pasted order cards
    # (订单金额:1299.00); agents' turns too
    typed = join_spelled_out(canonical(request.message))
    intents = [intent.id, *(i.id for i in secondary)]
    amount = amount_at_stake([typed, *(turn.text for turn in request.history)], request.context, intents)
    situation = Situation(intents, emotion.id, amount, thresholds.high_value_yuan)
    labels = index.intent_model.labels
    escalation = index.escalation.decide(text, situation, recent)
    if not escalation.required:
        backstop = index.escalation_model
        at = thresholds.escalation_backstop_at
        escalation = learned_escalation(backstop, index.escalation, message, vector, situation, at)
    classification = Classification(
        intent,
        emotion,
        escalation,
        message,
        dict(zip(labels, probabilities.tolist(), strict=True)),
        dict(zip(labels, topic.probabilities.tolist(), strict=True)),
        secondary,
        index.escalation.handoff_requested(text),
    )
    return Classified(classification, topic.search_vector, entry_log_p)
