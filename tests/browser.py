"""A real browser inside a lab node: Debian's chromium, driven by Debian's chromedriver
through selenium (a test extra; the package never imports it).

The REST server of a lab node listens on 127.0.0.1 *inside* the node's network namespace,
so the browser must run there. The clean way found: create the selenium driver while this
thread is inside the namespace (``netns.inside_netns``). A child process is born in the
network namespace of the thread that forks it, so chromedriver (started by selenium's
Service) and the chromium it starts both live in the node; selenium's own HTTP client
connects to chromedriver's 127.0.0.1 port from the same thread, in the same namespace.
Nothing is bridged, no port is exposed outside the node, no helper process is needed.

The catch: selenium opens new connections to chromedriver as it goes, and outside the
namespace 127.0.0.1:port is the host's. So ``browser_in`` stays inside the namespace for
as long as the driver lives: every driver call belongs in its ``with`` block.
"""
import base64
import contextlib
import importlib.util
import os
import shutil
import tempfile

from realenv import inside_netns, require

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = '/usr/bin/chromedriver'


def browser_missing():
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return '%s not installed (make system-deps)' % path
    if importlib.util.find_spec('selenium') is None:
        return 'selenium not installed (pip install .[test])'
    return None


@contextlib.contextmanager
def browser_in(netns, width=1280, height=900):
    """A headless chromium whose every connection starts in network namespace ``netns``."""
    require(browser_missing())
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM   # with both paths given selenium downloads nothing
    for arg in ('--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                '--window-size=%d,%d' % (width, height)):
        options.add_argument(arg)
    # The console, to see script errors and CSP violations.
    options.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    # Chromium's profile and its singleton-socket directory (made under TMPDIR) in a
    # directory of our own, removed afterwards: each browser used to leave one in /tmp.
    home = tempfile.mkdtemp(prefix='ryu-vxlan-vpc-browser-')
    options.add_argument('--user-data-dir=%s' % os.path.join(home, 'profile'))
    service = Service(CHROMEDRIVER, env=dict(os.environ, TMPDIR=home))
    try:
        with inside_netns(netns):
            driver = webdriver.Chrome(service=service, options=options)
            try:
                yield driver
            finally:
                driver.quit()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def full_page_png(driver, path):
    """The whole page, not only the window: the viewport is made as tall as the page for
    the shot (Chrome DevTools' device metrics), then given back."""
    width = driver.execute_script('return window.innerWidth')
    height = driver.execute_script('return document.documentElement.scrollHeight')
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
        'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': False})
    try:
        shot = driver.execute_cdp_cmd('Page.captureScreenshot', {'format': 'png'})
    finally:
        driver.execute_cdp_cmd('Emulation.clearDeviceMetricsOverride', {})
    with open(path, 'wb') as f:
        f.write(base64.b64decode(shot['data']))
    return path
