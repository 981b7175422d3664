"""Word lists the synthetic corpus is drawn from: plain data, no logic.

Titles are made of :data:`TITLE_WORDS` only, so every title token is a vocabulary entry and
the search index can work on small integer codes instead of strings. The lists are long
enough that a title of eight words is practically unique, which is what makes a citation
string built from one work's title rank that work first.
"""

from __future__ import annotations


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text`` (word lists read better as prose)."""
    return tuple(text.split())


# Lower-case, one word each, no stop words (the search index ignores those anyway).
TITLE_WORDS: tuple[str, ...] = words(
    """
    abundance acoustic adaptive adolescent aerosol agricultural algebraic algorithm alignment
    allosteric alpine ambient amorphous amplification analysis anatomy anisotropic anomalous
    antibiotic antibody antimicrobial aquatic aquifer archaeal architecture arctic arid
    assessment assembly asymmetric atmospheric attention auditory autonomous bacterial
    balance bandwidth baseline bayesian behaviour benchmark biodiversity biofilm biomarker
    biomass bipolar boundary brain bridge buffer calcium calibration canopy capacity carbon
    cardiac cartilage catalysis catalytic cellular ceramic channel chaotic chemical chromatin
    chronic circadian circuit citation classification climate clinical cluster coastal
    cognitive coherent cohort collective colloidal combustion community comparative compact
    competition complex compliance composite compression computational conductivity
    conflict conformational connectivity conservation constraint contamination continental
    control convection convergence cooperative coral corpus correlation cortical coupling
    crystal cultural curriculum cyclic damage decay decentralized decision deep deformation
    degradation delivery dendritic density deposition depression design detection
    development diabetes diagnostic dielectric diffusion digital dimension discrete disease
    dispersal distributed diversity domain dopamine drought dynamics early ecological
    ecosystem efficiency elastic electrochemical electron emergent emission empirical
    endemic energy engineering enzyme epidemic epigenetic equilibrium erosion estimation
    ethical evolution excitation experimental exposure expression extinction extraction
    fabrication failure fatigue feedback fermentation ferroelectric fibre field filtering
    fish flexible flood flow fluid fluorescence flux forest fossil fracture framework
    frequency friction fungal fusion gene generative genetic genome geochemical geometry
    glacial global governance gradient graph gravitational grid groundwater growth habitat
    harmonic health heat heterogeneous hierarchical high historical homeostasis hormone
    host hybrid hydraulic hydrogen hypothesis identification imaging immune impact
    inference infection inflammation information infrastructure inhibition initial
    injury instability institutional integrated interaction interface intervention
    invasive ion isotope kinetic landscape language laser latent lattice layer learning
    lesion ligand linear lipid liquid literacy local longitudinal machine magnetic
    maintenance management mapping marine market mass material maternal measurement
    mechanical mechanism membrane memory metabolic metal method microbial migration
    mineral mitochondrial mobility model modulation molecular monitoring morphology
    mortality motor multiscale muscle mutation nanoparticle narrative native network
    neural neuronal nitrogen noise nonlinear nuclear nutrient observation ocean ontology
    optical optimization oral organic oscillation outcome oxidation oxidative oxygen
    paleoclimate parallel parasite particle pathogen pathway patient pattern perception
    performance periodic permeability phase phenotype phosphorus photonic physical plant
    plasma plasticity pollination pollution polymer population porous precipitation
    prediction pressure prevalence primary probabilistic protein proteomic quantum
    radiation random reaction receptor recognition recovery recurrent reduction regional
    regulation reinforcement relaxation reliability remote renewable repair replication
    reproductive resilience resistance resolution resonance respiratory response
    restoration retrieval reversible risk river robust rural salinity sampling satellite
    scaling scattering schema sediment seismic selection semantic sensor sequence
    sequencing service shear signal signalling simulation single skeletal sleep social
    soil solar solid sparse spatial species spectral spectroscopy spin stability
    statistical stellar stem stochastic storage strain stress structural structure
    subsurface superconducting surface survey survival sustainable symbiotic synaptic
    synthesis synthetic system temperature temporal tension terrestrial theory therapy
    thermal tissue topological toxicity trade trajectory transcription transfer transition
    transmission transport treatment trophic tropical tumour turbulence uncertainty urban
    vaccine validation variability variation vascular vegetation velocity viral
    viscosity visual volatile water wave wetland wireless yield zinc
    toward unified metaphysics silly string
    """
)

# Joining words placed between title words; all of them are stop words, so they are never
# indexed and never matched, exactly as a query ignores them.
TITLE_FILLERS: tuple[str, ...] = ("of", "in", "and", "for", "on", "with", "under", "across")

GIVEN_NAMES: tuple[str, ...] = words(
    """
    Aiko Alejandro Amara Anders Ane Anna Arjun Astrid Ayşe Bao Beatriz Camille Carlos Chen
    Chiara Chloé Dalia Daniel David Dmitri Elena Emeka Emma Farid Fatima Felipe Francesca
    Giulia Hana Hannah Hiroshi Ingrid Isabel Ivan James Jana Javier Jiahui João Jonas Jürgen
    Kaito Karin Kofi Lars Laura Leila Li Lucía Luis Maja Malik Maria Mateo Mei Mohammed
    Nadia Nikolai Noor Olga Omar Paolo Pedro Priya Rahul Rania Ricardo Rosa Ruth Sakura
    Samuel Santiago Sara Sergei Siddharth Sofia Søren Tariq Thomas Tomás Ursula Wei Yara
    Yusuf Zainab Zoë
    """
)

FAMILY_NAMES: tuple[str, ...] = words(
    """
    Abbott Adeyemi Ahmed Alvarez Andersen Araújo Bauer Becker Bianchi Björk Brown Campbell
    Castillo Chen Chowdhury Costa Dubois Dvořák Eriksson Fernández Fischer Fitzgerald Fontaine
    García Gonzalez Gupta Haddad Hansen Hartmann Hernández Hoffmann Hosseini Huang Ibrahim
    Ivanova Jansen Jensen Jiménez Johansson Kamau Kang Kapoor Kato Kaur Kim Kowalski Kumar
    Larsen Laurent Lee Lehmann Li Lindqvist Liu López Martínez Meyer Mohamed Moreau Müller
    Murphy Nakamura Nguyen Nielsen Novak Nowak O'Brien Okafor Okonkwo Olsen Ortega Papadopoulos
    Park Patel Pereira Petrov Popescu Quispe Ramírez Rao Rasmussen Reyes Rossi Russo Saito
    Sánchez Santos Schmidt Schneider Schulz Silva Singh Smirnov Sørensen Suzuki Svensson
    Tanaka Taylor Thompson Torres Tran Van-der-Berg Vargas Wagner Walker Wang Watanabe Weber
    Williams Wilson Wójcik Wu Yamamoto Yang Yılmaz Zhang Zhao Zimmermann
    """
)

INSTITUTIONS: tuple[str, ...] = (
    "University of Northbridge",
    "Eastlake Institute of Technology",
    "Universidad de Valmonte",
    "Université de Rivebelle",
    "Technische Universität Hohenfels",
    "Kessler Research Centre",
    "National Institute for Marine Studies",
    "Osterholm University Hospital",
    "Institute of Applied Physics, Lindenau",
    "Southfield College",
    "Università degli Studi di Castelverde",
    "Kyoto Area Research Institute",
    "Centre for Ecology and Hydrology, Brackenmoor",
    "Department of Computer Science, Westhaven University",
    "Faculty of Medicine, Aranda University",
    "Polar Research Station Nordkapp",
    "School of Earth Sciences, Meridian University",
    "Graduate School of Economics, Harborview",
    "Max Lindgren Institute for Neuroscience",
    "Instituto de Química, Serra Alta",
)

SUBJECTS: tuple[tuple[int, str], ...] = (
    (1105, "Ecology, Evolution, Behavior and Systematics"),
    (1303, "Biochemistry"),
    (1311, "Genetics"),
    (1706, "Computer Science Applications"),
    (1702, "Artificial Intelligence"),
    (1902, "Atmospheric Science"),
    (1907, "Geology"),
    (2103, "Fuel Technology"),
    (2208, "Electrical and Electronic Engineering"),
    (2300, "General Environmental Science"),
    (2500, "General Materials Science"),
    (2604, "Applied Mathematics"),
    (2700, "General Medicine"),
    (2713, "Epidemiology"),
    (2728, "Neurology (clinical)"),
    (2805, "Cognitive Neuroscience"),
    (3100, "General Physics and Astronomy"),
    (3304, "Education"),
    (3310, "Linguistics and Language"),
    (1200, "General Arts and Humanities"),
)

# Words that journal titles are built from ("Journal of <a> <b>", "<a> Letters", ...).
JOURNAL_TOPICS: tuple[str, ...] = (
    "Ecology",
    "Applied Physics",
    "Marine Biology",
    "Computational Linguistics",
    "Clinical Neuroscience",
    "Materials Chemistry",
    "Climate Dynamics",
    "Soil Science",
    "Machine Learning Research",
    "Public Health",
    "Structural Engineering",
    "Molecular Genetics",
    "Hydrology",
    "Economic History",
    "Cell Biology",
    "Geophysics",
    "Renewable Energy",
    "Cognitive Science",
    "Veterinary Medicine",
    "Quantum Optics",
    "Archaeology",
    "Education Research",
    "Plant Pathology",
    "Statistics",
    "Urban Studies",
    "Tropical Medicine",
    "Remote Sensing",
    "Polymer Science",
    "Oceanography",
    "Information Science",
)

JOURNAL_PATTERNS: tuple[str, ...] = (
    "Journal of {0}",
    "{0} Letters",
    "Annals of {0}",
    "International Journal of {0}",
    "Advances in {0}",
    "{0} Reviews",
    "Frontiers in {0}",
    "Transactions on {0}",
    "Acta {0}",
    "{0} Quarterly",
)

# Member (publisher) names are "<place> <kind>": enough distinct names for hundreds of members.
PUBLISHER_PLACES: tuple[str, ...] = words(
    """
    Northbridge Elmstead Valmonte Hohenfels Rivebelle Meridian Castelverde Kessler Harborview
    Aranda Brackenmoor Lindenau Nordkapp Westhaven Osterholm Southfield Eastlake Jade-River
    Greywater Ashcombe Tidewell Marlow Silverlake Korvasi Ravensworth Almeda Thornbury
    Weissberg Calder Montrose
    """
)
PUBLISHER_KINDS: tuple[str, ...] = (
    "Scientific Press",
    "University Press",
    "Publishing Group",
    "Learned Society",
    "Academic Publishers",
    "Verlag GmbH",
    "Open Access Ltd",
    "Society for Applied Research",
    "Editora",
    "Institute of Publishing",
)
COUNTRIES: tuple[str, ...] = (
    "United Kingdom",
    "United States",
    "Spain",
    "Germany",
    "France",
    "Japan",
    "Netherlands",
    "Italy",
    "Switzerland",
    "Canada",
    "Brazil",
    "Norway",
    "Portugal",
    "Sweden",
    "China",
    "India",
    "South Africa",
    "Australia",
)

FUNDERS: tuple[tuple[str, str, str], ...] = (
    # (registry id, name, location)
    ("100000001", "National Science Foundation", "United States"),
    ("100000002", "National Institutes of Health", "United States"),
    ("501100000780", "European Commission", "Belgium"),
    ("501100001659", "Deutsche Forschungsgemeinschaft", "Germany"),
    ("501100000270", "Natural Environment Research Council", "United Kingdom"),
    ("501100001809", "National Natural Science Foundation of China", "China"),
    ("501100001711", "Swiss National Science Foundation", "Switzerland"),
    ("100010269", "Wellcome Trust", "United Kingdom"),
    ("501100002341", "Research Council of Finland", "Finland"),
    ("501100000038", "Natural Sciences and Engineering Research Council of Canada", "Canada"),
    ("501100003329", "Ministerio de Economía y Competitividad", "Spain"),
    ("501100001665", "Agence Nationale de la Recherche", "France"),
    ("100000015", "U.S. Department of Energy", "United States"),
    ("501100004837", "Ministerio de Ciencia e Innovación", "Spain"),
    ("501100001691", "Japan Society for the Promotion of Science", "Japan"),
    ("100000011", "Howard Hughes Medical Institute", "United States"),
)

LICENSES: tuple[str, ...] = (
    "http://creativecommons.org/licenses/by/4.0/",
    "https://creativecommons.org/licenses/by-nc-nd/4.0/",
    "https://creativecommons.org/licenses/by-nc/4.0/",
    "http://creativecommons.org/licenses/by/3.0/",
    "https://www.elsevier.com/tdm/userlicense/1.0/",
    "http://www.springer.com/tdm",
    "http://doi.wiley.com/10.1002/tdm_license_1.1",
    "https://academic.oup.com/journals/pages/open_access/funder_policies/chorus/standard_publication_model",
    "http://onlinelibrary.wiley.com/termsAndConditions#vor",
)

LANGUAGES: tuple[str, ...] = ("en", "en", "en", "en", "en", "en", "de", "fr", "es", "pt")

# Types and their share of the corpus (roughly Crossref's own mix).
TYPE_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("journal-article", 60),
    ("book-chapter", 9),
    ("proceedings-article", 8),
    ("posted-content", 5),
    ("dataset", 4),
    ("book", 3),
    ("report", 2),
    ("dissertation", 2),
    ("peer-review", 2),
    ("component", 2),
    ("reference-entry", 1),
    ("monograph", 1),
    ("other", 1),
)

# Labels of /types, as the real API spells them.
TYPE_LABELS: dict[str, str] = {
    "book-section": "Book Section",
    "monograph": "Monograph",
    "report-component": "Report Component",
    "report": "Report",
    "peer-review": "Peer Review",
    "book-track": "Book Track",
    "journal-article": "Journal Article",
    "book-part": "Part",
    "other": "Other",
    "book": "Book",
    "journal-volume": "Journal Volume",
    "book-set": "Book Set",
    "reference-entry": "Reference Entry",
    "proceedings-article": "Proceedings Article",
    "journal": "Journal",
    "component": "Component",
    "book-chapter": "Book Chapter",
    "proceedings-series": "Proceedings Series",
    "report-series": "Report Series",
    "proceedings": "Proceedings",
    "database": "Database",
    "standard": "Standard",
    "reference-book": "Reference Book",
    "posted-content": "Posted Content",
    "journal-issue": "Journal Issue",
    "dissertation": "Dissertation",
    "grant": "Grant",
    "dataset": "Dataset",
    "book-series": "Book Series",
    "edited-book": "Edited Book",
}

STOP_WORDS: frozenset[str] = frozenset(
    words("a an and are as at be by for from in into is it its of on or the their to")
    + words("under across with")
)

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def ror_id(number: int) -> str:
    """A well-formed ROR id URL: ``0``, six Crockford base-32 characters and the two-digit
    ISO 7064 (mod 97-10) checksum of their value, as ror.org mints them.

    >>> ror_id(12345)
    'https://ror.org/0000c1s20'
    """
    value = number % 32**6
    chars = "".join(_CROCKFORD[value >> (5 * k) & 31] for k in range(5, -1, -1))
    return f"https://ror.org/0{chars}{98 - value * 100 % 97:02d}"


#: The ROR id of each of :data:`INSTITUTIONS` (same order).
INSTITUTION_RORS: tuple[str, ...] = tuple(
    ror_id(0x3A5F1 + 7919 * code) for code in range(len(INSTITUTIONS))
)

#: Clinical trial registries as Crossref names them: (registry DOI, trial number prefix).
TRIAL_REGISTRIES: tuple[tuple[str, str], ...] = (
    ("10.18810/clinical-trials-gov", "nct"),
    ("10.18810/isrctn", "isrctn"),
)
