"""`python -m sop_core user list | add | passwd | role | disable | enable | delete`: users for team mode.

The acting user is the operating-system user, or ``--as NAME`` (:mod:`sop_core.cli.common`); user administration
needs an admin (see :mod:`sop_core.services.users`).
"""

from __future__ import annotations

import argparse
import getpass
import sys

from sop_core.cli.common import CliError, acting_user_option, actor, hinted, open_engine, print_frame
from sop_core.units import ROLES


def _new_password(args: argparse.Namespace) -> str | None:
    """The password given with --password, else asked twice on a terminal; None when neither is possible."""
    if args.password is not None:
        return str(args.password)
    if not sys.stdin.isatty():
        return None
    first = getpass.getpass(f"new password for {args.name}: ")
    if getpass.getpass("the same again: ") != first:
        raise CliError("the two passwords differ; nothing was changed")
    return first


def cmd_list(args: argparse.Namespace) -> int:
    import pandas as pd

    from sop_core.services import users

    accounts = users.list_users(open_engine(), actor(args))
    print_frame(pd.DataFrame([{"user": a.username, "name": a.display_name, "role": a.role, "status": a.status}
                              for a in accounts], columns=["user", "name", "role", "status"]))
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from sop_core.services import users

    password = _new_password(args)
    account = users.add_user(open_engine(), actor(args), args.name, args.role, password=password,
                             display_name=args.display_name or "")
    note = "" if account.has_password else " (no password yet: it cannot sign in until `user passwd` sets one)"
    print(f"user {account.username} added with role {account.role}{note}")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    from sop_core.services import users

    password = _new_password(args)
    if password is None:
        raise CliError("no password: give --password or run on a terminal")
    users.set_password(open_engine(), actor(args), args.name, password)
    print(f"password of {args.name} set")
    return 0


def cmd_role(args: argparse.Namespace) -> int:
    from sop_core.services import users

    engine = open_engine()
    users.set_role(engine, actor(args), args.name, args.role, users.version_of(engine, args.name))
    print(f"user {args.name} has the role {args.role}")
    return 0


def cmd_disable(args: argparse.Namespace) -> int:
    from sop_core.services import users

    users.disable_user(open_engine(), actor(args), args.name)
    print(f"user {args.name} disabled: it cannot sign in")
    return 0


def cmd_enable(args: argparse.Namespace) -> int:
    from sop_core.services import users

    cleared = users.enable_user(open_engine(), actor(args), args.name)
    print(f"user {args.name} enabled" + (f"; {cleared} failed sign-ins forgotten" if cleared else ""))
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    from sop_core.services import users

    users.delete_user(open_engine(), actor(args), args.name)
    print(f"user {args.name} deleted")
    return 0


# --------------------------------------------------------------------------- parser
def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this area's commands to the parser's subcommands."""
    acting = acting_user_option("an admin")
    p = sub.add_parser("user", help="users for team mode (list, add, passwd, role, disable, enable, delete)")
    user_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    roles = ", ".join(ROLES)

    q = user_sub.add_parser("list", parents=[acting], help="list the users, their roles and status")
    q.set_defaults(func=hinted(cmd_list))

    q = user_sub.add_parser("add", parents=[acting], help="add a user (while no admin can sign in, the first admin)")
    q.add_argument("name")
    q.add_argument("--role", required=True, choices=ROLES, metavar="ROLE", help=roles)
    q.add_argument("--password", help="at least 12 characters, not the user name, not a common password "
                                      "(asked for when omitted on a terminal)")
    q.add_argument("--display-name", help="the name shown (default: the user name)")
    q.set_defaults(func=hinted(cmd_add))

    q = user_sub.add_parser("passwd", parents=[acting], help="set a user's password")
    q.add_argument("name")
    q.add_argument("--password", help="the new password (asked for twice when omitted on a terminal)")
    q.set_defaults(func=hinted(cmd_passwd))

    q = user_sub.add_parser("role", parents=[acting], help="change a user's role")
    q.add_argument("name")
    q.add_argument("role", choices=ROLES, metavar="ROLE", help=roles)
    q.set_defaults(func=hinted(cmd_role))

    for name, func, what in (("disable", cmd_disable, "disable a user: it cannot sign in"),
                             ("enable", cmd_enable, "enable a user again (and lift a sign-in lock)"),
                             ("delete", cmd_delete, "delete a user (the audit log keeps its name)")):
        q = user_sub.add_parser(name, parents=[acting], help=what)
        q.add_argument("name")
        q.set_defaults(func=hinted(func))
