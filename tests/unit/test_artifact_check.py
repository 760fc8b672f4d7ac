"""The artifact check's judgement of the built layer's files (deploy/artifact.py; `make artifact-check` runs it)."""

from pathlib import Path

from deploy import artifact

EM_X86_64 = 62


def elf(machine: int) -> bytes:
    """The first bytes of a little-endian 64-bit ELF file for `machine`."""
    return artifact.ELF_MAGIC + bytes([2, 1, 1]) + bytes(11) + machine.to_bytes(2, "little")


def test_an_extension_built_for_aarch64_and_the_runtimes_python_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / f"_core.{artifact.runtime_tag()}-aarch64-linux-gnu.so").write_bytes(elf(artifact.EM_AARCH64))
    (tmp_path / "pkg" / "pure.py").write_text("")
    assert artifact.foreign_binaries(tmp_path) == []


def test_an_extension_built_for_another_machine_is_reported(tmp_path: Path) -> None:
    (tmp_path / "_core.abi3.so").write_bytes(elf(EM_X86_64))
    assert artifact.foreign_binaries(tmp_path) == ["_core.abi3.so: not built for aarch64"]


def test_an_extension_built_for_another_python_is_reported(tmp_path: Path) -> None:
    (tmp_path / "_core.cpython-311-aarch64-linux-gnu.so").write_bytes(elf(artifact.EM_AARCH64))
    assert artifact.foreign_binaries(tmp_path) == [
        f"_core.cpython-311-aarch64-linux-gnu.so: not built for {artifact.runtime_tag()}"
    ]


def test_the_runtime_tag_is_the_templates_runtime() -> None:
    assert artifact.runtime_tag() == "cpython-313"
