"""Browser tests: the draw verification page (SPEC §5.11) in a real headless Chromium (Debian's package; `.ci/run`
installs it when missing, via `.ci/chromium`). The fixtures are in tests/conftest.py, the reading helpers in
tests/pagecheck.py."""
