"""The step notebooks of a working session (01_data_check … 08_readout), shipped in the package as
``segworkshop.notebooks`` (pyproject maps this folder there): ``segworkshop run`` executes them with papermill
and ``segworkshop init`` copies them into a workshop folder. Found with
``importlib.resources.files("segworkshop.notebooks")``, in a wheel and in the default editable install (not with
``pip install -e . --config-settings editable_mode=compat``, whose path entry does not map this folder)."""
