"""The portals' journeys as steps, one module per portal, each step one thing a person does or
sees in the browser (a `tests.browser.Screen`). The browser tests of a portal run its steps at
three widths; tests/e2e/test_browser_done_when.py chains them into issue 15's "Done when"."""
