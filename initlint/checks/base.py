"""The rule seam: a rule is a code, a name, a severity, a fix safety and a function of facts."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from initlint.core.findings import Applicability, Finding, Fix, Severity, Span
from initlint.semantic.context import FileContext

#: The rule's page on the documentation site (mkdocs.yml: site_url; rules/<CODE>.md is built
#: into rules/<CODE>/index.html there, which GitHub Pages serves at rules/<CODE>).
DOCS_SITE = "https://initlint.github.io/initlint/"
DOCS_URL = DOCS_SITE + "rules/{code}"


Check = Callable[[FileContext], Iterable[Finding]]
RuleBody = Callable[["Rule", FileContext], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    """A registered rule."""

    code: str
    name: str
    severity: Severity
    summary: str
    check: Check
    fix: Applicability | None = None
    default: bool = True  # on without being selected

    def finding(self, ctx: FileContext, span: Span, message: str, why: str,
                fix: Fix | None = None, severity: Severity | None = None,
                subject: str = "") -> Finding:
        return Finding(self.code, severity or self.severity, ctx.facts.path, span, message,
                       why, fix, None, subject)

    @property
    def url(self) -> str:
        return DOCS_URL.format(code=self.code)


def rule(code: str, name: str, severity: Severity, summary: str,
         fix: Applicability | None = None,
         default: bool = True) -> Callable[[RuleBody], Rule]:
    """Declare a rule next to its check: ``@rule("INI001", ...) def check(rule, ctx): ...``."""

    def wrap(fn: RuleBody) -> Rule:
        holder: list[Rule] = []

        def bound(ctx: FileContext) -> Iterable[Finding]:
            return fn(holder[0], ctx)

        made = Rule(code, name, severity, summary, bound, fix, default)
        holder.append(made)
        return made

    return wrap
