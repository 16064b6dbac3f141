"""The document question suite: questions with their key facts as ground truth, over three document
sets (the bundled knowledge_base/, scikit-learn's own dataset descriptions, a lab handbook PDF), plus
questions no document answers and run-and-document questions (documents_eval.py scores them).

Written from the documents, not from the router's cue lists or exemplars. A key is a tuple of
alternatives; every key must be in the answer (case-insensitive).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Expect = Literal["fact", "none", "mixed"]
SKLEARN_FILES = ("iris.rst", "wine_data.rst", "digits.rst", "breast_cancer.rst")


@dataclass(frozen=True)
class DocCase:
    question: str
    keys: tuple[tuple[str, ...], ...] = ()
    expect: Expect = "fact"


def _cases(*rows: tuple[str, tuple[str, ...]]) -> tuple[DocCase, ...]:
    return tuple(DocCase(q, tuple((k,) if isinstance(k, str) else k for k in keys)) for q, keys in rows)


KNOWLEDGE_BASE = _cases(
    ("What does macro F1 mean?", (("mean over classes", "macro-averaged"),)),
    ("How is the validation split made?", (("75 %", "stratified"),)),
    ("Which seed is used to split the data?", ("seed 0",)),
    ("How many seeds are needed before a setting can be reported?", ("two seeds",)),
    ("When has a run diverged?", ("three times",)),
    ("What usually causes a training run to diverge?", ("learning rate",)),
    ("What is log loss?", ("log probability",)),
    ("What does the hinge loss measure?", ("margin",)),
    ("What is the headline number in our evaluation protocol?", ("val_accuracy",)),
    ("Which metric is the tie-breaker when accuracies are equal?", ("val_f1",)),
    ("Where do the per-epoch curves go?", ("metrics.csv",)),
    ("What happens to a run that crashes?", ("not recorded",)),
    ("How many images are in the digits data?", ("1,797",)),
    ("Which pairs of digits are the hardest?", ("1/7",)),
    ("How many flowers are in iris according to our dataset notes?", ("150",)),
    ("Why is wine a smoke test rather than a benchmark?", ("100 %",)),
    ("How many malignant tumours are in breast_cancer?", ("212",)),
    ("What does the checklist say about the git diff?", ("empty or reviewed",)),
    ("Should quoted numbers be rounded up?", ("never round up",)),
    ("Where is the artifacts folder archived?", ("next to the paper",)),
    ("What does alpha mean in the glossary?", ("regularisation",)),
    ("What learning rate setting do MLPs use according to the glossary?", ("learning_rate_init",)),
    ("What log loss does a uniform guess score on digits?", ("2.30",)),
    ("How much does one mistake move accuracy on the iris validation split?", ("2.6",)),
)

SKLEARN = _cases(
    ("How many instances are in the iris plants dataset?", ("150",)),
    ("Who is the creator of the iris data?", ("Fisher",)),
    ("What is the class distribution of iris?", ("33.3%",)),
    ("Are any values missing in the iris data?", ("None",)),
    ("Who donated the iris dataset?", ("Michael Marshall",)),
    ("How many wines are in the wine recognition dataset?", ("178",)),
    ("How many attributes does the wine recognition data have?", ("13",)),
    ("What is the class distribution of the wine data?", ("class_0 (59)",)),
    ("Where were the wines grown?", ("Italy",)),
    ("Who are the original owners of the wine data?", ("Forina",)),
    ("How many instances does the handwritten digits dataset have?", ("1797",)),
    ("What range do the digit pixels take?", ("0..16",)),
    ("How many people contributed to the digits training set?", ("30",)),
    ("How are the 32x32 digit bitmaps reduced?", ("4x4",)),
    ("Who created the optical digits dataset?", ("Alpaydin",)),
    ("How many instances are in the breast cancer Wisconsin dataset?", ("569",)),
    ("How many malignant and benign cases are in the breast cancer data?", ("212", "357")),
    ("What are the breast cancer features computed from?", ("fine needle aspirate",)),
    ("Who donated the breast cancer dataset?", ("Nick Street",)),
    ("When was the breast cancer data made available?", ("1995",)),
    ("How many attributes does the breast cancer data have?", ("30",)),
    ("Is setosa linearly separable from the other iris classes?", ("linearly separable",)),
)

HANDBOOK_PDF_LINES = (
    "Lab handbook",
    "This handbook collects the working rules of the vision and tabular group.",
    "GPU booking",
    "The shared A100 box is booked in the team calendar at least one day ahead.",
    "A single booking lasts at most 48 hours; longer jobs are split and resumed from a checkpoint.",
    "Early stopping",
    "Training stops when the validation loss has not improved for 8 epochs.",
    "The checkpoint with the lowest validation loss is the one we keep.",
    "Checkpoints",
    "Keep the last three checkpoints of every run and delete older ones.",
    "Checkpoints are written to the scratch volume, never to the home folder.",
    "Mixed precision",
    "All image models train in bfloat16; tabular models stay in float32.",
    "Data augmentation",
    "Image runs use random crops of 224 pixels and horizontal flips; no colour jitter.",
    "Hyper-parameter search",
    "Searches use 40 trials of random search before any Bayesian optimisation is tried.",
    "Code review",
    "Every training script change needs one approving review before it is merged.",
    "Reporting",
    "Weekly results are presented at the Thursday meeting at 10:00.",
    "Test set",
    "The held-out test set is evaluated once per project, after the final model is chosen.",
    "Storage",
    "Raw datasets live on the archive server and are mounted read-only.",
)

HANDBOOK_PDF = _cases(
    ("How far ahead must the A100 be booked?", ("one day ahead",)),
    ("How long can one GPU booking last?", ("48 hours",)),
    ("When does early stopping end training?", ("8 epochs",)),
    ("Which checkpoint do we keep after early stopping?", ("lowest validation loss",)),
    ("How many checkpoints should I keep per run?", ("last three",)),
    ("Where are checkpoints written?", ("scratch volume",)),
    ("What precision do image models train in?", ("bfloat16",)),
    ("What precision do the tabular models use?", ("float32",)),
    ("What crop size do image runs use for augmentation?", ("224",)),
    ("Do we use colour jitter?", ("no colour jitter",)),
    ("How many random search trials come before Bayesian optimisation?", ("40 trials",)),
    ("How many reviews does a training script change need?", ("one approving review",)),
    ("When are weekly results presented?", ("Thursday",)),
    ("How often is the held-out test set evaluated?", ("once per project",)),
    ("Where do the raw datasets live?", ("archive server",)),
    ("Are raw datasets mounted writable?", ("read-only",)),
)

NO_DOCUMENT = tuple(DocCase(q, (), "none") for q in (
    "What does the handbook say about parental leave?",
    "What is our policy on conference travel budgets?",
    "How do we rotate the on-call pager?",
    "What does the glossary say about BLEU score?",
    "Which cloud provider does the lab use for storage backups?",
    "What is the password policy for the cluster?",
    "How should I cite the lab's speech corpus?",
    "What do the notes say about reinforcement learning rewards?",
    "Who approves purchases of new laptops?",
    "What is the dress code at the Thursday meeting?",
))

MIXED = (
    DocCase("Is our best digits run good enough to publish by the checklist?",
            (("best run on its dataset",), ("digits",)), "mixed"),
    DocCase("Does the top wine run meet the publishing checklist?", (("best run on its dataset", "two seeds"),
                                                                    ("wine",)), "mixed"),
    DocCase("Would the best iris run pass our checklist?", (("best run on its dataset", "two seeds"), ("iris",)),
            "mixed"),
    DocCase("Can the best breast cancer run be published according to the checklist?",
            (("best run on its dataset",), ("breast_cancer", "breast cancer")), "mixed"),
    DocCase("How should I quote the accuracy of our best digits run according to the checklist?",
            (("exactly as recorded",), ("digits",)), "mixed"),
    DocCase("Is the best MLP on digits ready for a paper by our publishing checklist?",
            (("best run on its dataset",), ("digits",)), "mixed"),
    DocCase("Does our best perceptron on iris satisfy the checklist?", (("best run on its dataset",), ("iris",)),
            "mixed"),
    DocCase("Is the top random forest on wine fit to publish by the checklist?",
            (("best run on its dataset",), ("wine",)), "mixed"),
)

SETS: dict[str, tuple[DocCase, ...]] = {"knowledge_base": KNOWLEDGE_BASE, "sklearn_descr": SKLEARN,
                                        "handbook_pdf": HANDBOOK_PDF}
