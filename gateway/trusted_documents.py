"""Trusted documents (persisted operations): with PLANGRUPPE_TRUSTED_DOCUMENTS set, the
gateway runs only the operations in the manifest its own clients were built with; any other
document, and free text that is not one of them, is refused with DOCUMENT_NOT_TRUSTED, over
HTTP and WebSocket alike. Without the setting every document is accepted (development).

Two manifest formats are read:
- the GraphQL Code Generator client preset's `persisted-documents.json`: an object of
  hash -> document text;
- Apollo's persisted query manifest: `{"format": "apollo-persisted-query-manifest",
  "version": 1, "operations": [{"id", "name", "type", "body"}]}`.
A request names its document by `documentId` (optionally `sha256:<hash>`), or by
`extensions.persistedQuery.sha256Hash` (Apollo's clients)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse

MAX_ID = 200


class DocumentNotTrusted(Exception):
    """The request's document is not one of the trusted ones."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _operation_name(text: str) -> str | None:
    try:
        document = parse(text)
    except GraphQLError:
        return None
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name is not None:
            return definition.name.value
    return None


@dataclass(frozen=True)
class TrustedDocuments:
    by_id: Mapping[str, str] = field(repr=False)
    texts: frozenset[str] = field(repr=False)  # sha256 of every trusted text
    source: str = ""
    # sha256 of a trusted text -> its operation's name (the metrics' operation label)
    names: Mapping[str, str] = field(default_factory=dict, repr=False)

    def name_of(self, text: str) -> str | None:
        return self.names.get(_sha256(text))

    @classmethod
    def from_manifest(cls, data: object, source: str = "") -> TrustedDocuments:
        """Either format; raises ValueError with what is wrong."""
        documents: dict[str, str] = {}
        if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
            operations = data.get("operations")
            if not isinstance(operations, list):
                raise ValueError("an Apollo manifest needs an operations list")
            for n, op in enumerate(operations, start=1):
                if not (
                    isinstance(op, dict)
                    and isinstance(op.get("id"), str)
                    and isinstance(op.get("body"), str)
                ):
                    raise ValueError(f"operation {n} needs a string id and body")
                documents[op["id"]] = op["body"]
        elif isinstance(data, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            documents = {k.removeprefix("sha256:"): v for k, v in data.items()}
        else:
            raise ValueError(
                "not a persisted-documents object (hash -> document) or an Apollo persisted"
                " query manifest"
            )
        if not documents:
            raise ValueError("it holds no documents")
        for key, text in documents.items():
            # A sha256 id must be the text's: a manifest edited by hand fails here, at start.
            hexadecimal = len(key) == 64 and all(c in "0123456789abcdef" for c in key)
            if hexadecimal and _sha256(text) != key:
                raise ValueError(f"document {key[:12]}… does not hash to its id")
        names = {_sha256(t): name for t in documents.values() if (name := _operation_name(t))}
        return cls(documents, frozenset(_sha256(t) for t in documents.values()), source, names)

    @classmethod
    def load(cls, path: str) -> TrustedDocuments:
        try:
            data = json.loads(Path(path).read_text("utf-8"))
        except OSError as exc:
            raise ValueError(f"{path}: {exc.strerror}") from None
        except ValueError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
        try:
            return cls.from_manifest(data, path)
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None

    def resolve(self, request: Mapping[str, Any]) -> str:
        """The document text a request may run; raises DocumentNotTrusted."""
        query = request.get("query")
        wanted = request.get("documentId")
        extensions = request.get("extensions")
        if wanted is None and isinstance(extensions, Mapping):
            persisted = extensions.get("persistedQuery")
            if isinstance(persisted, Mapping):
                wanted = persisted.get("sha256Hash")
        if wanted is not None:
            if not isinstance(wanted, str) or not 0 < len(wanted) <= MAX_ID:
                raise DocumentNotTrusted("The document id is malformed.")
            text = self.by_id.get(wanted.removeprefix("sha256:"))
            if text is None:
                raise DocumentNotTrusted("This document is not one of the trusted documents.")
            if isinstance(query, str) and query != text:
                raise DocumentNotTrusted("The document text does not match its id.")
            return text
        if isinstance(query, str) and _sha256(query) in self.texts:
            return query
        raise DocumentNotTrusted(
            "Only trusted documents run here: send the documentId of a document in the"
            " client's manifest."
        )
