"""Single-file, offline HTML pages: the session report and the history dashboard.

A page is one document with everything inline -- styles, the vendored Chart.js bundle
(``static/chart.umd.min.js``, MIT, licence beside it), the page's data as JSON and its
script -- so it opens from disk with no request to any network address. Imported only when a
page is written; the plugin's import never reaches it.
"""
