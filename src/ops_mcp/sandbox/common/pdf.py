"""A minimal but valid PDF 1.4 writer (one page, Helvetica text) for the emulators' PDF downloads."""

from __future__ import annotations


def _escape(text: str) -> str:
    # PDF literal strings: escape the delimiters; keep to Latin-1 for the standard font encoding.
    text = text.encode("latin-1", "replace").decode("latin-1")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def render_pdf(lines: list[str], title: str = "Invoice") -> bytes:
    stream_lines = ["BT", "/F1 11 Tf", "14 TL", "50 800 Td"]
    for i, line in enumerate(lines[:52]):
        if i == 0:
            stream_lines.append("/F1 16 Tf")
        stream_lines.append(f"({_escape(line)}) Tj T*")
        if i == 0:
            stream_lines.append("/F1 11 Tf")
    stream_lines.append("ET")
    content = "\n".join(stream_lines).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + _escape(title).encode("latin-1") + b") /Producer (ops-mcp sandbox) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\nstartxref\n{xref}\n%%EOF\n").encode()
    return bytes(out)
