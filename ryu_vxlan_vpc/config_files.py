"""The config files themselves, checked before oslo.config reads them.

oslo.config, as ryu-manager and bootstrap call it, turns some malformed files into a
traceback (a byte that is not UTF-8, a directory, a missing file under ryu-manager) and
silently ignores what it does not know: a misspelled option or section leaves the node
running with defaults, e.g. with no tunnels. ``check_files`` reads each file once, with
oslo's own line grammar (``oslo_config.iniparser``), and raises ``ConfigFileError`` with
one line naming the file, the line and the problem. Bootstrap (``config.load_file``) and
ryu-manager with our app (``_manager_hook``) both call it, so both refuse the same files.

What is refused, besides what oslo's parser refuses:
- not a regular file, larger than MAX_BYTES, a byte order mark, a NUL byte, not UTF-8
  (oslo decodes with the locale's encoding; UTF-8 is the one every node reads alike);
- an option of [vxlan_vpc] that does not exist, or set twice in one file (oslo would keep
  the last one without a word), or one of ours written under [DEFAULT];
- a section whose name is close to [vxlan_vpc] or [DEFAULT] but is neither (other
  sections may belong to other Ryu apps and are left alone), and file sets without any
  [vxlan_vpc];
- ``$name`` or ``${name}`` in a value of [DEFAULT] or [vxlan_vpc]: oslo replaces it with
  another option's value (``remote_ips = $local_ip``), or fails on an unknown name.
  ``$$`` (or ``\\$``) is oslo's literal ``$`` and is kept;
- ``$`` in a file's path: oslo applies the same substitution to ``--config-file`` values
  after it has read the file under its literal name, and fails on ``$name`` it does not
  know; no spelling of the path works for both steps.
"""
import difflib
import io
import os
import stat
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from oslo_config import cfg, iniparser

from .config import GROUP, OPTS, ConfigFileError

MAX_BYTES = 1 << 20          # a config file is a few KB; this keeps /dev/zero-like reads short
OPTION_NAMES = tuple(opt.dest for opt in OPTS)
READ_SECTIONS = ('DEFAULT', GROUP)       # the sections oslo looks into for our process
_TEMPLATE = cfg.ConfigOpts.Template.pattern  # oslo's $name / ${name} grammar
_BOMS = (('UTF-32', (b'\xff\xfe\x00\x00', b'\x00\x00\xfe\xff')),
         ('UTF-16', (b'\xff\xfe', b'\xfe\xff')))
_PARSE_HINTS = {  # oslo's parse errors, said in terms of what to fix
    'Section must be started before assignment':
        'an option before any [section] header (ours go under [%s])' % GROUP,
    "No ':' or '=' found in assignment": 'expected NAME = VALUE',
    'Key cannot be empty': 'no option name before "="',
    'Unexpected continuation line': 'an indented line, which would continue an option '
                                    'value, but none precedes it',
    'Invalid section (must end with ])': 'a section header must end with "]"',
    'Empty section name': 'empty section name',
}


@dataclass
class ParsedFile:
    path: str
    sections: Dict[str, int] = field(default_factory=dict)  # name as written -> first line
    # (section as written, key, value, line of the key), in file order
    items: List[Tuple[str, str, str, int]] = field(default_factory=list)

    def items_in(self, group):
        return [(k, v, n) for s, k, v, n in self.items if _group_of(s) == group]


def check_files(paths):
    """ParsedFile of each path, or ConfigFileError for the first problem found."""
    files = [_check_file(path) for path in paths]
    if files and not any(_group_of(s) == GROUP for f in files for s in f.sections):
        last = files[-1]
        others = ''.join(' nor in %r' % f.path for f in files[:-1])
        hint, named = '', [s for s in last.sections if s != 'DEFAULT']
        if named:
            near = max(named, key=lambda s: difflib.SequenceMatcher(None, s.lower(), GROUP)
                       .ratio())
            hint = '; did you mean [%s] for [%s]?' % (GROUP, _shown(near))
        raise ConfigFileError(last.path, 'no [%s] section%s%s' % (GROUP, others, hint))
    return files


def _group_of(section):
    """The oslo group a section feeds: names other than DEFAULT are case-insensitive."""
    return section if section == 'DEFAULT' else section.lower()


def _shown(text, limit=60):
    """A name from the file as it reads, or quoted when it holds unprintable characters;
    cut short, so that a line of junk does not become a screenful of message."""
    text = text if len(text) <= limit else text[:limit] + '...'
    return text if text.isprintable() else repr(text)


def quoted(text, limit=80):
    """repr() of a value from the file, cut short like _shown."""
    return repr(text if len(text) <= limit else text[:limit] + '...')


def _check_file(path):
    parsed = ParsedFile(path)
    parser = _Parser(parsed)
    try:
        parser.parse(io.StringIO(_text(path), newline=None))  # open()'s newline handling
    except iniparser.ParseError as exc:
        raise ConfigFileError(path, '%s: %s' % (_PARSE_HINTS.get(exc.msg, exc.msg),
                                                quoted(exc.line)),
                              exc.lineno) from None
    _check_sections(parsed)
    _check_options(parsed)
    return parsed


def _text(path):
    """The file's text, or ConfigFileError saying why it is not a UTF-8 text file."""
    if '$' in path:
        raise ConfigFileError(path, '"$" in the path: oslo.config reads $NAME in a '
                                    '--config-file value as another option; use a path '
                                    'without "$"')
    try:
        info = os.stat(os.path.expanduser(path))  # oslo expands ~ too
        if stat.S_ISDIR(info.st_mode):
            raise ConfigFileError(path, 'is a directory, not a file')
        if not stat.S_ISREG(info.st_mode):
            raise ConfigFileError(path, 'is not a regular file')
        with open(os.path.expanduser(path), 'rb') as f:
            data = f.read(MAX_BYTES + 1)
    except (FileNotFoundError, NotADirectoryError):
        raise ConfigFileError(path, 'no such file') from None
    except OSError as exc:
        raise ConfigFileError(path, 'cannot read it: %s' % (exc.strerror or exc)) from None
    if len(data) > MAX_BYTES:
        raise ConfigFileError(path, 'larger than %d bytes: not a config file' % MAX_BYTES)
    if data.startswith(b'\xef\xbb\xbf'):
        raise ConfigFileError(path, 'starts with a UTF-8 byte order mark, which oslo.config '
                                    'reads as part of the first line; save it without one')
    for name, boms in _BOMS:
        if data.startswith(boms):
            raise ConfigFileError(path, 'is %s text (byte order mark); save it as UTF-8'
                                  % name)
    if b'\0' in data:
        raise ConfigFileError(path, 'holds a NUL byte: binary, or UTF-16 without a byte '
                                    'order mark? Save it as UTF-8 text',
                              data.count(b'\n', 0, data.index(b'\0')) + 1)
    try:
        return data.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise ConfigFileError(path, 'byte 0x%02x is not UTF-8; save the file as UTF-8'
                              % data[exc.start], data.count(b'\n', 0, exc.start) + 1) from None


class _Parser(iniparser.BaseParser):
    """oslo.config's line grammar, recording each section and option with its line."""

    def __init__(self, parsed):
        self.parsed = parsed
        self.section = None
        self.key_line, self.key_text = 0, ''

    def new_section(self, section):
        self.section = section
        self.parsed.sections.setdefault(section, self.lineno)

    def _split_key_value(self, line):
        self.key_line, self.key_text = self.lineno, line  # a value may continue on later lines
        return super()._split_key_value(line)

    def assignment(self, key, value):
        if self.section is None:
            raise self.parse_exc('Section must be started before assignment',
                                 self.key_line, self.key_text)
        self.parsed.items.append((self.section, key, '\n'.join(value), self.key_line))


def _check_sections(parsed):
    for section, line in parsed.sections.items():
        if _group_of(section) in READ_SECTIONS:
            continue
        near = difflib.get_close_matches(section.strip().lower(), ['default', GROUP], 1, 0.5)
        if near:
            meant = 'DEFAULT' if near[0] == 'default' else GROUP
            raise ConfigFileError(parsed.path, 'unknown section [%s] (its options would be '
                                               'ignored); did you mean [%s]?'
                                  % (_shown(section), meant), line)


def _check_options(parsed):
    first = {}
    for section, key, value, line in parsed.items:
        group = _group_of(section)
        if group == GROUP:
            if key not in OPTION_NAMES:
                raise ConfigFileError(parsed.path, '[%s] %s is not an option%s'
                                      % (GROUP, _shown(key), _did_you_mean(key)), line)
            if key in first:
                raise ConfigFileError(parsed.path, '[%s] %s is set again (first on line %d); '
                                                   'oslo.config would keep only this one'
                                      % (GROUP, key, first[key]), line)
            first[key] = line
        elif group == 'DEFAULT' and key in OPTION_NAMES:
            raise ConfigFileError(parsed.path, '%s belongs in [%s], not [DEFAULT]'
                                  % (key, GROUP), line)
        if group in READ_SECTIONS:
            _check_substitution(parsed.path, group, key, value, line)


def _did_you_mean(key):
    near = difflib.get_close_matches(key.strip().lower(), OPTION_NAMES, 1, 0.6)
    if near:
        return '; did you mean %s?' % near[0]
    return ' (the options are %s)' % ', '.join(OPTION_NAMES)


def _check_substitution(path, group, key, value, line):
    for m in _TEMPLATE.finditer(value.replace('\\$', '$$')):  # oslo reads \$ as $$
        if m.group('named') or m.group('braced'):
            raise ConfigFileError(path, '[%s] %s = %s: oslo.config would replace %s with '
                                        'the value of another option; write the value '
                                        'itself ($$ for a literal $)'
                                  % (group, _shown(key), quoted(value), m.group(0)), line)
