"""Throw-away certificates for tests, made with openssl: a CA and
certificates signed by it for servers, clients or both, with the
subjectAltNames a test needs. Keys are EC P-256: made in milliseconds, where
RSA 2048 takes up to a second on a loaded machine."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Iterable, Optional

from haestest.haproxy import openssl

__all__ = ["make_ca", "make_cert", "client_context"]

EC_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A throw-away CA: (certificate, key)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}-ca.pem", directory / f"{name}-ca-key.pem"
    openssl("req", "-x509", *EC_KEY, "-nodes", "-keyout", str(key), "-out", str(cert),
            "-days", "2", "-subj", f"/CN={name} test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def make_cert(directory: Path, name: str, ca: tuple[Path, Path], *, cn: Optional[str] = None,
              ips: Iterable[str] = ("127.0.0.1",), dns: Iterable[str] = ("localhost",),
              server: bool = True, client: bool = False) -> tuple[Path, Path]:
    """A certificate signed by ca: (certificate, key). cn defaults to name;
    server and client choose the extendedKeyUsage (etcd's peers need both:
    a member is a TLS client of the others)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}-key.pem"
    csr, ext = directory / f"{name}.csr", directory / f"{name}.ext"
    usage = [u for u, on in (("serverAuth", server), ("clientAuth", client)) if on]
    if not usage:
        raise ValueError(f"make_cert {name}: neither server nor client usage asked")
    sans = [f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips]
    lines = [f"extendedKeyUsage={','.join(usage)}"]
    if sans:
        lines.append("subjectAltName=" + ",".join(sans))
    ext.write_text("\n".join(lines) + "\n")
    openssl("req", "-new", *EC_KEY, "-nodes", "-keyout", str(key), "-out", str(csr),
            "-subj", f"/CN={cn or name}")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return cert, key


def client_context(ca: Optional[Path], cert: Optional[Path] = None, key: Optional[Path] = None) -> ssl.SSLContext:
    """An ssl context that trusts ca (only) and presents cert/key when given."""
    ctx = ssl.create_default_context(cafile=str(ca) if ca else None)
    if cert:
        ctx.load_cert_chain(str(cert), str(key) if key else None)
    return ctx
