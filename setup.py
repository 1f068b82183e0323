"""Packaging of vizmo-scim-gateway (schemas and SQL files ship as package data)."""

from setuptools import find_packages, setup

setup(
    name="vizmo-scim-gateway",
    version="0.1.0",
    description="SCIM 2.0 gateway that lets Microsoft Entra ID provision the Vizmo employee directory",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["gateway", "gateway.*", "adapters", "adapters.*", "schemas", "schemas.*"]),
    package_data={
        "schemas": ["*.json", "resource/*.json", "request/*.json"],
        "adapters.vizmo_sqlite": ["*.sql"],
        "adapters.vizmo_postgres": ["*.sql"],
        "gateway": ["py.typed"],
        "gateway.admin": ["templates/*.html", "static/*.css", "static/*.js", "static/*.svg"],  # the Integrations page
        "adapters": ["py.typed"],
    },
    install_requires=[
        # 6.5: a request without Host is refused (RFC 9112 §3.2), a multipart body's bad parts are not
        # logged one line each; 6.4.2: a quoted cookie of backslashes no longer holds the loop for seconds
        "tornado>=6.5,<7",
        "aiosqlite>=0.20,<1",
        "asyncpg>=0.32,<1",  # 0.32: the pool restores its connection floor after an outage (tests rely on it)
        "jsonschema>=4.20,<5",  # the configuration file and adapter options (cold path)
        # request bodies: compiled once, ~1 us a valid body (gateway/scim/validation/json_schemas.py);
        # no dependencies
        "jsonschema-rs>=0.61,<1",
        "pyjwt>=2.8,<3",
        "ldap3>=2.9,<3",
        "orjson>=3.10.7,<4",  # answers encoded in a tenth of the stdlib's; 3.10.7: wheels for 3.11-3.13
        "prometheus-client>=0.20,<1",  # GET /metrics, summed over --processes N (gateway/metrics.py)
    ],
    extras_require={
        # what an adapter's own test suite needs for the conformance kit (adapters.testkit)
        "testkit": ["pytest>=8,<9.1"],
        "test": [
            # pytest 9.1+ rejects pytest-tornado 0.8.1's old-style hook options at plugin load under
            # filterwarnings = error (pytest.ini); the exact versions come from constraints.txt.
            "pytest>=8,<9.1",
            "pytest-tornado==0.8.1",
            # pytest-tornado 0.8.1 imports pkg_resources: gone in setuptools 81, and a UserWarning on
            # import from 80.
            "setuptools<80",
            "wheel",  # tests/test_packaging.py builds the wheel without network access
            "scim2-tester[httpx2]>=0.5.2,<0.6",  # python-scim's conformance checker (tests/interop)
            # drives Debian's chromium + chromedriver for the admin page's tests (tests/browser); 4.52+
            # needs a certifi newer than the registry has
            "selenium>=4.30,<4.52",
        ],
    },
    entry_points={
        "console_scripts": ["vizmo-scim=gateway.cli:main"],
        "vizmo_scim.adapters": [
            "sqlite=adapters.vizmo_sqlite.adapter:VizmoSqliteAdapter",
            "postgres=adapters.vizmo_postgres.adapter:VizmoPostgresAdapter",
            "ldap=adapters.ldap.adapter:LdapAdapter",
        ],
    },
)
