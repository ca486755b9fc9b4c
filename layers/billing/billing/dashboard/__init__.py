"""The operator dashboard's view of the core: lists as typed tables (``tables``), the search box
(``search``), and forms read into the API's own input models (``forms``). The pages themselves
are ``functions/api/chalicelib/routes/dashboard.py`` and ``billing/pages/templates/dashboard``."""
