"""The desktop window (customtkinter): `labvoice.gui.app.run_gui(config)` opens it."""
