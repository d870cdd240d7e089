"""Risk lists for early help teams (``riskpipe score``) and their re-identification by the controller.

Pure modules: ``selection`` (cohort, top by capacity, bands), ``scoring`` (risk and LightGBM
contributions), ``explanations`` (reasons, protective factors), ``record_dates`` (sources holding each
person and their last record dates, from the source registry), ``release`` (approved or DRAFT, caveats)
and ``render`` (the list table, CSV bytes, HTML). ``stage`` does the IO.
"""
