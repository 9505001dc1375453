"""Signed tree heads and proof files of the audit log, checked offline with only a public key.

A head signs (tree size, root hash, time, key ID) with Ed25519; the key ID is the SHA-256 of
the raw public key, so a key can rotate and old heads stay checkable with the old public key.
Nothing here touches the database: a regulator runs the same code on the files alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from arrears import merkle

INCLUSION_KIND = "arrears-audit-inclusion-proof"
CONSISTENCY_KIND = "arrears-audit-consistency-proof"
HEAD_KIND = "arrears-audit-tree-head"


def canonical_bytes(body: Mapping[str, Any]) -> bytes:
    """The encoding the chain hash covers: sorted keys, no whitespace, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_leaf(chain_hash: str) -> bytes:
    """The Merkle leaf hash of an event: SHA-256(0x00 || its 32-byte chain hash)."""
    return merkle.leaf_hash(bytes.fromhex(chain_hash))


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public: Ed25519PublicKey) -> str:
    """SHA-256 of the raw public key, hex."""
    return hashlib.sha256(_raw(public)).hexdigest()


def load_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8) or base64 of its 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the audit signing key must be an Ed25519 key")
        return key
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))


def load_public_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo) or base64 of its 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))


def public_pem(public: Ed25519PublicKey) -> str:
    """The public key as PEM, for regulators and `verify-proof --public-key`."""
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def private_pem(key: Ed25519PrivateKey) -> str:
    """The private key as unencrypted PKCS#8 PEM (the development key file)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def dev_key(path: Path) -> Ed25519PrivateKey:
    """The development signing key kept at `path`, generated on first use (owner-only file)."""
    if path.exists():
        return load_private_key(path.read_text())
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(private_pem(key))
    return key


def keyring(keys: Iterable[Ed25519PublicKey]) -> dict[str, Ed25519PublicKey]:
    """Public keys by key ID."""
    return {key_id(k): k for k in keys}


@dataclass(frozen=True, slots=True)
class SignedHead:
    """A tree head and its Ed25519 signature."""

    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    key_id: str
    signature: bytes

    def signed_bytes(self) -> bytes:
        """What the signature covers."""
        return canonical_bytes(
            {
                "kind": HEAD_KIND,
                "tree_size": self.tree_size,
                "root_hash": self.root_hash.hex(),
                "timestamp_ms": self.timestamp_ms,
                "key_id": self.key_id,
            }
        )

    @classmethod
    def sign(
        cls, key: Ed25519PrivateKey, *, tree_size: int, root_hash: bytes, timestamp_ms: int
    ) -> SignedHead:
        """Sign a head with `key`."""
        unsigned = cls(tree_size, root_hash, timestamp_ms, key_id(key.public_key()), b"")
        return cls(tree_size, root_hash, timestamp_ms, unsigned.key_id, key.sign(unsigned.signed_bytes()))

    def verify(self, keys: Mapping[str, Ed25519PublicKey]) -> str | None:
        """None when a trusted key signed it; otherwise why not."""
        public = keys.get(self.key_id)
        if public is None:
            return f"signed by key {self.key_id[:16]}…, which is not among the trusted public keys"
        try:
            public.verify(self.signature, self.signed_bytes())
        except InvalidSignature:
            return "the tree head's signature does not verify"
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": HEAD_KIND,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp_ms": self.timestamp_ms,
            "key_id": self.key_id,
            "signature": base64.b64encode(self.signature).decode(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SignedHead:
        """Parse a head; anything malformed is an error, never an empty check."""
        try:
            head = cls(
                tree_size=int(data["tree_size"]),
                root_hash=bytes.fromhex(str(data["root_hash"])),
                timestamp_ms=int(data["timestamp_ms"]),
                key_id=str(data["key_id"]),
                signature=base64.b64decode(str(data["signature"]), validate=True),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a signed tree head: {exc}") from exc
        if head.tree_size < 0 or len(head.root_hash) != merkle.HASH_BYTES:
            raise ValueError("not a signed tree head: tree_size must be >= 0 and root_hash 32 bytes")
        return head


def _hexes(values: Any) -> list[bytes]:
    if not isinstance(values, list):
        raise ValueError("a proof path must be a list of hex hashes")
    return [bytes.fromhex(str(v)) for v in values]


def verify_inclusion_document(doc: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """Check an inclusion proof file offline; None when it holds, otherwise why not."""
    try:
        if doc.get("kind") != INCLUSION_KIND:
            return f"not an inclusion proof (kind {doc.get('kind')!r})"
        head = SignedHead.from_dict(doc["head"])
        event, chain_hash = doc["event"], str(doc["hash"])
        index, size, path = int(doc["leaf_index"]), int(doc["tree_size"]), _hexes(doc["audit_path"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"malformed proof: {exc}"
    problem = head.verify(keys)
    if problem:
        return problem
    if size != head.tree_size:
        return f"the proof is for a tree of {size} events, the head signs {head.tree_size}"
    if not isinstance(event, dict) or event.get("seq") != index + 1:
        return "the event's sequence number is not its leaf index + 1"
    if hashlib.sha256(canonical_bytes(event)).hexdigest() != chain_hash:
        return "the event's content does not match its hash: altered"
    if not merkle.verify_inclusion(chain_leaf(chain_hash), index, size, path, head.root_hash):
        return "the audit path does not lead to the signed root: not in this tree"
    return None


def verify_consistency_document(doc: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> str | None:
    """Check a consistency proof file offline: the newer signed head extends the older one."""
    try:
        if doc.get("kind") != CONSISTENCY_KIND:
            return f"not a consistency proof (kind {doc.get('kind')!r})"
        old, new = SignedHead.from_dict(doc["old"]), SignedHead.from_dict(doc["new"])
        path = _hexes(doc["path"])
    except (KeyError, TypeError, ValueError) as exc:
        return f"malformed proof: {exc}"
    for name, head in (("old", old), ("new", new)):
        problem = head.verify(keys)
        if problem:
            return f"{name} head: {problem}"
    if not merkle.verify_consistency(old.tree_size, new.tree_size, old.root_hash, new.root_hash, path):
        return (
            f"the tree of {new.tree_size} events does not extend the signed one of {old.tree_size}: rewritten"
        )
    return None
