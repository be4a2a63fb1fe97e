"""How people drive disclose: the `disclose` command line and the web application."""
